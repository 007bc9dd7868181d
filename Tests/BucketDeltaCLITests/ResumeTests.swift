import Foundation
import Testing

/// A pair of several thousand objects with planted differences (SeaweedFS), shared by the resume tests.
let resumePair = seaweedPair("resume", bulk: 2500)
/// Without the names SeaweedFS lists out of byte order, so that key ranges stay in use.
let orderedResumePair = seaweedPair("resume-ord", bulk: 2500, scenario: "ordered")

/// One run of the tool, killable as a process group (Foundation's Process starts each child in a
/// process group of its own; the workers inherit it).
final class GroupRun {
  let process = Process()
  init(_ arguments: [String], environment: [String: String], stderr: String) throws {
    process.executableURL = URL(fileURLWithPath: try toolPath())
    process.arguments = arguments
    process.environment = environment
    _ = FileManager.default.createFile(atPath: stderr, contents: nil)
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
    process.standardOutput = FileHandle.nullDevice
    try process.run()
  }
  func killGroup() { kill(-process.processIdentifier, SIGKILL) }
  func wait() -> Int32 {
    process.waitUntilExit()
    return process.terminationStatus
  }
}

/// The summary without the fields that may differ between an interrupted and an uninterrupted run.
func comparableSummary(_ path: String) throws -> String {
  let json = try #require(
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
  var top = json
  for k in ["started_at", "finished_at"] { top[k] = nil }
  top["pairs"] = (json["pairs"] as? [[String: Any]] ?? []).map { p in
    var p = p
    for k in [
      "duration_seconds", "objects_per_second", "resumed", "worker_restarts", "report", "requests",
      "requests_per_object", "retries",
      "throttled",
      // objects compared over time: a timing, like the duration
      "progress_series",
    ] { p[k] = nil }
    return p
  }
  return String(decoding: try JSONSerialization.data(withJSONObject: top, options: [.sortedKeys]), as: UTF8.self)
}

@Suite("Checkpoints and resume", .serialized)
struct ResumeTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  private func environment(state: URL) -> [String: String] {
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = state.path
    env["AWS_ACCESS_KEY_ID"] = servers.accessKey
    env["AWS_SECRET_ACCESS_KEY"] = servers.secretKey
    return env
  }

  private func arguments(
    _ pair: (truth: Truth, source: String, destination: String), report: String, summary: String, deep: Bool
  ) -> [String] {
    [
      "--source_bucket_name", pair.source, "--source_endpoint_url", servers.seaweed,
      "--destination_bucket_name", pair.destination, "--destination_endpoint_url", servers.seaweed,
      // A checkpoint every 10 objects: the kill points are progress lines at multiples of 40, and a
      // shallow one-stream run (sorted, then merged in one burst) got fast enough that with a checkpoint
      // every 40 objects most kills landed after it had ended (12 and 9 of 20 kills hit a running
      // process, where 16-19 were usual; every 20 objects gave 15-18).
      "--output_file", report, "--summary", summary, "--num_objects_report", "10",
      "--shallow_check", deep ? "false" : "true", "--num_processes", "2", "--num_connections", "4",
    ]
  }

  @Test(
    "SIGKILL of the process group at 20 moments per mode, then --resume: report and summary as if never interrupted",
    arguments: [(false, 1), (true, 1), (false, 4), (true, 4)])
  func killAndResume(deep: Bool, rangeListers: Int) throws {
    // One stream per side on the pair with SeaweedFS's out-of-order names (which key ranges would
    // detect and fall back from); key ranges of 50-key pages on a pair it lists in byte order.
    let pair = try (rangeListers == 1 ? resumePair : orderedResumePair).get()
    func arguments(
      _ pair: (truth: Truth, source: String, destination: String), report: String, summary: String, deep: Bool
    ) -> [String] {
      self.arguments(pair, report: report, summary: summary, deep: deep) + ["--range_listers", String(rangeListers)]
        + (rangeListers > 1 ? ["--list_page_size", "50", "--log_level", "DEBUG"] : [])
    }
    let dir = try temporaryDirectory()
    // the uninterrupted run
    let refReport = dir.appendingPathComponent("ref.txt").path
    let refSummary = dir.appendingPathComponent("ref.json").path
    let refState = dir.appendingPathComponent("ref-state")
    let ref = try GroupRun(
      arguments(pair, report: refReport, summary: refSummary, deep: deep), environment: environment(state: refState),
      stderr: dir.appendingPathComponent("ref.err").path)
    #expect(ref.wait() == 1)
    let expectedReport = pair.truth.text.map { $0 + "\n" }.joined()
    #expect(try String(contentsOfFile: refReport, encoding: .utf8) == expectedReport)
    let expectedSummary = try comparableSummary(refSummary)

    if rangeListers > 1 {
      let log = try String(contentsOfFile: dir.appendingPathComponent("ref.err").path, encoding: .utf8)
      #expect(log.contains("Listing mode of the source bucket: key ranges, \(rangeListers) listed at once"))
      #expect(!log.contains("does not join up") && !log.contains("not in UTF-8 byte order"))
      #expect(log.contains("Split a range of source bucket"))
    }
    var resumedTrials = 0
    var killedTrials = 0
    var rangeResumes = 0
    for trial in 1...20 {
      let state = dir.appendingPathComponent("state-\(trial)")
      let report = dir.appendingPathComponent("r\(trial).txt").path
      let summary = dir.appendingPathComponent("s\(trial).json").path
      let args = arguments(pair, report: report, summary: summary, deep: deep)
      let env = environment(state: state)
      // Kill points spread over the run by progress (every 40 objects a checkpoint is written), plus
      // a varying delay of 0-35 ms so that some kills land while a checkpoint is being written.
      let errPath = dir.appendingPathComponent("e\(trial).err").path
      let run = try GroupRun(args, environment: env, stderr: errPath)
      let target = max(40, (pair.truth.objects * trial / 21) / 40 * 40)
      var reached = false
      for _ in 0..<6000 {
        if ((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "").contains("Processed \(target) objects") {
          reached = true
          break
        }
        if !run.process.isRunning { break }
        usleep(5_000)
      }
      #expect(reached, "trial \(trial): progress \(target) never logged")
      usleep(useconds_t((trial * 7919) % 36) * 1000)
      run.killGroup()
      let first = run.wait()
      let killed = run.process.terminationReason == .uncaughtSignal
      if killed { killedTrials += 1 }
      var status = first
      var attempts = 0
      while status != 1 && attempts < 5 {
        attempts += 1
        let checkpoint = (try? FileManager.default.contentsOfDirectory(atPath: state.path))?.first {
          $0.hasSuffix(".checkpoint")
        }
        let hasCheckpoint = checkpoint != nil
        var fromBoundary = false
        if let checkpoint, rangeListers > 1,
          let json = try? String(contentsOfFile: state.appendingPathComponent(checkpoint).path, encoding: .utf8),
          json.contains("\"range_hand_offs\"")
        {
          fromBoundary = true
        }
        let again = try GroupRun(
          args + (hasCheckpoint ? ["--resume"] : []), environment: env,
          stderr: dir.appendingPathComponent("e\(trial)-\(attempts).err").path)
        status = again.wait()
        if hasCheckpoint && killed && attempts == 1 { resumedTrials += 1 }
        if fromBoundary {
          // A checkpoint with a verified boundary is resumed from it, not from the beginning.
          let log = try String(
            contentsOfFile: dir.appendingPathComponent("e\(trial)-\(attempts).err").path, encoding: .utf8)
          #expect(log.contains("a key-range boundary the checkpoint verified"), "trial \(trial)")
          rangeResumes += 1
        }
      }
      #expect(status == 1, "trial \(trial): exit \(status)")
      #expect(try String(contentsOfFile: report, encoding: .utf8) == expectedReport, "trial \(trial)")
      #expect(try comparableSummary(summary) == expectedSummary, "trial \(trial)")
      #expect(
        (try? FileManager.default.contentsOfDirectory(atPath: state.path))?.contains { $0.hasSuffix(".checkpoint") }
          != true,
        "the checkpoint is deleted on success")
    }
    // A kill after the first progress line finds a checkpoint, unless it lands after the pair has
    // finished (the checkpoint is deleted then, and the rerun starts over): the last kill points of a
    // fast shallow run may do that.
    #expect(killedTrials >= 12, "only \(killedTrials) of 20 kills hit a running process")
    #expect(resumedTrials >= 12, "only \(resumedTrials) of \(killedTrials) killed runs were resumed from a checkpoint")
    if rangeListers > 1 {
      // Most resumes start listing at a verified range boundary instead of the beginning.
      #expect(rangeResumes >= 8, "only \(rangeResumes) resumes started at a key-range boundary")
    }
    print(
      "kill test (deep \(deep), range_listers \(rangeListers)): \(killedTrials) kills, \(resumedTrials) resumed, \(rangeResumes) from a key-range boundary"
    )
  }

  @Test("SIGINT saves a checkpoint and exits 130; --resume finishes correctly")
  func sigint() throws {
    let pair = try resumePair.get()
    let dir = try temporaryDirectory()
    let report = dir.appendingPathComponent("r.txt").path
    let summary = dir.appendingPathComponent("s.json").path
    let env = environment(state: dir.appendingPathComponent("state"))
    let args = arguments(pair, report: report, summary: summary, deep: true)
    let errPath = dir.appendingPathComponent("e.err").path
    let run = try GroupRun(args, environment: env, stderr: errPath)
    var seen = false
    for _ in 0..<1000 {
      if ((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "").contains("Processed 200 objects") {
        seen = true
        break
      }
      usleep(10_000)
    }
    #expect(seen)
    kill(run.process.processIdentifier, SIGINT)
    #expect(run.wait() == 130)
    let err = try String(contentsOfFile: errPath, encoding: .utf8)
    #expect(err.contains("interrupted by signal 2"))
    let resumed = try runProcess(try toolPath(), args + ["--resume"], environment: env)
    #expect(resumed.status == 1, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("Resuming from checkpoint"))
    #expect(try String(contentsOfFile: report, encoding: .utf8) == pair.truth.text.map { $0 + "\n" }.joined())
    let s = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any])
    #expect((s["pairs"] as? [[String: Any]])?.first?["resumed"] as? Int == 1)
  }

  @Test("Resume is refused with a changed configuration, a corrupt checkpoint, a truncated report, or no checkpoint")
  func refusals() throws {
    let pair = try resumePair.get()
    let dir = try temporaryDirectory()
    let report = dir.appendingPathComponent("r.txt").path
    let summary = dir.appendingPathComponent("s.json").path
    let state = dir.appendingPathComponent("state")
    let env = environment(state: state)
    let args = arguments(pair, report: report, summary: summary, deep: false)

    let none = try runProcess(try toolPath(), args + ["--resume"], environment: env)
    #expect(none.status == 2)
    #expect(none.stderr.contains("there is no checkpoint to resume"), "\(none.stderr)")

    // make a checkpoint: interrupt a deep run early
    let deepArgs = arguments(pair, report: report, summary: summary, deep: true)
    let errPath = dir.appendingPathComponent("e.err").path
    let run = try GroupRun(deepArgs, environment: env, stderr: errPath)
    for _ in 0..<1000 {
      if ((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "").contains("Processed 120 objects") { break }
      usleep(10_000)
    }
    kill(run.process.processIdentifier, SIGINT)
    #expect(run.wait() == 130)
    let checkpoint = try #require(
      try FileManager.default.contentsOfDirectory(atPath: state.path).first { $0.hasSuffix(".checkpoint") })
    let cpPath = state.appendingPathComponent(checkpoint).path
    let attrs = try FileManager.default.attributesOfItem(atPath: cpPath)
    #expect(attrs[.posixPermissions] as? Int == 0o600)
    #expect((try FileManager.default.attributesOfItem(atPath: state.path))[.posixPermissions] as? Int == 0o700)
    #expect(!(try String(contentsOfFile: cpPath, encoding: .utf8)).contains(servers.secretKey))

    let changed = try runProcess(try toolPath(), args + ["--resume"], environment: env)  // shallow now
    #expect(changed.status == 2)
    #expect(changed.stderr.contains("was written for a different configuration"), "\(changed.stderr)")

    // a report shorter than the checkpoint vouches for (truncated or replaced since)
    let good = try Data(contentsOf: URL(fileURLWithPath: cpPath))
    var cpJSON = try #require(try JSONSerialization.jsonObject(with: good) as? [String: Any])
    // (no report yet if no record was written before the interrupt: the report is created at its first record)
    let size = (try? FileManager.default.attributesOfItem(atPath: report))?[.size] as? Int ?? 0
    cpJSON["report_bytes"] = size + 10
    try JSONSerialization.data(withJSONObject: cpJSON).write(to: URL(fileURLWithPath: cpPath))
    let truncated = try runProcess(try toolPath(), deepArgs + ["--resume"], environment: env)
    #expect(truncated.status == 2)
    #expect(truncated.stderr.contains("the report was truncated or replaced"), "\(truncated.stderr)")
    try Data("{not json".utf8).write(to: URL(fileURLWithPath: cpPath))
    let corrupt = try runProcess(try toolPath(), deepArgs + ["--resume"], environment: env)
    #expect(corrupt.status == 2)
    #expect(corrupt.stderr.contains("is corrupt"), "\(corrupt.stderr)")
  }
}
