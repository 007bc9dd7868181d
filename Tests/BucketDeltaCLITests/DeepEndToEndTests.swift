import Foundation
import Testing

/// The expected deep report of an Object Lock pair made by make_deep_pair.py.
struct DeepTruth: Decodable {
  var text: [String]
  var objects: Int
  var differences: Int
  var tags_only: [String]
}

func makeDeepPair(servers: TestServers, url: String, source: String, destination: String) throws -> DeepTruth {
  let out = try runFixture(
    "make_deep_pair.py",
    ["--source-url", url, "--dest-url", url, "--source-bucket", source, "--dest-bucket", destination],
    servers: servers)
  return try JSONDecoder().decode(DeepTruth.self, from: Data(out.utf8))
}

/// A running bucket-delta, for tests that act while it runs.
final class RunningTool {
  let process = Process()
  let dir: URL
  var stderrPath: String { dir.appendingPathComponent("err").path }

  init(_ arguments: [String]) throws {
    dir = try temporaryDirectory()
    _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
    process.executableURL = URL(fileURLWithPath: try toolPath())
    process.arguments = arguments
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
    process.standardOutput = FileHandle.nullDevice
    try process.run()
  }

  var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

  /// Waits until stderr contains `text` (or the process ends, or `timeout` passes).
  @discardableResult
  func waitFor(_ text: String, timeout: Double = 60) -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
      if stderr.contains(text) { return true }
      if !process.isRunning { return stderr.contains(text) }
      usleep(20_000)
    }
    return false
  }

  /// The pids of the tool's child processes (the workers).
  func children() -> [Int32] {
    var pids = Set<Int32>()
    if let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/task") {
      for t in tasks {
        let text =
          (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(t)/children", encoding: .utf8)) ?? ""
        for p in text.split(separator: " ") { if let v = Int32(p) { pids.insert(v) } }
      }
    }
    return pids.sorted()
  }

  func wait() -> Int32 {
    process.waitUntilExit()
    return process.terminationStatus
  }
}

@Suite("Deep check end to end")
struct DeepEndToEndTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  private func deepRun(url: String, source: String, destination: String, extra: [String] = []) throws -> (
    ProcessOutput, String
  ) {
    let dir = try temporaryDirectory()
    let out = dir.appendingPathComponent("report.txt").path
    let r = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: url, sourceBucket: source, destinationURL: url, destinationBucket: destination,
        output: out) + ["--shallow_check", "false", "--num_processes", "2"] + extra)
    return (r, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
  }

  @Test("Every deep field, on SeaweedFS and on moto", arguments: ["seaweed", "moto"])
  func everyField(server: String) throws {
    let url = server == "seaweed" ? servers.seaweed : servers.moto
    let s = uniqueBucket("deep-src")
    let d = uniqueBucket("deep-dst")
    let truth = try makeDeepPair(servers: servers, url: url, source: s, destination: d)
    let (r, report) = try deepRun(url: url, source: s, destination: d)
    #expect(r.status == 1, "stderr: \(r.stderr)")
    #expect(report == truth.text.map { $0 + "\n" }.joined())
    #expect(r.stderr.contains("Total objects processed: \(truth.objects)"))
    #expect(r.stderr.contains("Total objects with differences: \(truth.differences)"))
  }

  @Test("Keys with . and .. segments, // and a leading /: each checked under its own name, never its twin's (moto)")
  func dotSegments() throws {
    let s = uniqueBucket("dots-src")
    let d = uniqueBucket("dots-dst")
    let made = try runFixture(
      "make_dot_pair.py", ["--url", servers.moto, "--source-bucket", s, "--dest-bucket", d], servers: servers)
    let truth = try JSONDecoder().decode(DeepTruth.self, from: Data(made.utf8))
    let (r, report) = try deepRun(url: servers.moto, source: s, destination: d)
    #expect(r.status == 1, "stderr: \(r.stderr.suffix(2000))")
    // Every dotted key differs (in metadata, tags and Content-Type); its twin, identical on both sides,
    // must not stand in for it.
    #expect(report == truth.text.map { $0 + "\n" }.joined())
    #expect(r.stderr.contains("Total objects processed: \(truth.objects)"))
  }

  @Test("--compare_object_tags false: tag differences vanish, the rest stays")
  func withoutTags() throws {
    let s = uniqueBucket("notag-src")
    let d = uniqueBucket("notag-dst")
    let truth = try makeDeepPair(servers: servers, url: servers.seaweed, source: s, destination: d)
    let (r, report) = try deepRun(
      url: servers.seaweed, source: s, destination: d, extra: ["--compare_object_tags", "false"])
    let expected = truth.text.filter { line in !truth.tags_only.contains { line.hasPrefix("Difference in Key: \($0),") }
    }
    .map { $0.replacingOccurrences(of: "'Tags differ', ", with: "") }
    #expect(expected.count == truth.text.count - truth.tags_only.count)
    #expect(r.status == 1, "stderr: \(r.stderr)")
    #expect(report == expected.map { $0 + "\n" }.joined())
  }

  @Test("A worker killed with SIGKILL mid-run: restarted, its keys redone, the report exactly right")
  func workerKilled() throws {
    let pair = try seaweedFullPair.get()
    let dir = try temporaryDirectory()
    let out = dir.appendingPathComponent("report.txt").path
    let tool = try RunningTool(
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: pair.source, destinationURL: servers.seaweed,
        destinationBucket: pair.destination, output: out)
        + [
          "--shallow_check", "false", "--num_processes", "2", "--num_connections", "1", "--num_objects_report", "50",
          "--max_queue_size", "8",
        ])
    #expect(tool.waitFor("Processed 150 objects"), "stderr: \(tool.stderr)")
    let workers = tool.children()
    try #require(workers.count == 2, "workers: \(workers)")
    // credentials reach workers through the pipe, never their command line
    for pid in workers {
      let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
      #expect(cmdline.contains("__worker"))
      #expect(!cmdline.contains(servers.secretKey))
    }
    kill(workers[0], SIGKILL)
    let status = tool.wait()
    #expect(status == 1, "stderr: \(tool.stderr)")
    #expect(tool.stderr.contains("ended with signal 9 (SIGKILL)"))
    #expect(tool.stderr.contains("the worker is restarted"))
    #expect(try String(contentsOfFile: out, encoding: .utf8) == pair.truth.text.map { $0 + "\n" }.joined())
    #expect(tool.children().isEmpty)
  }

  @Test("A key deleted after the listing is an error for that key (exit 2), never identical")
  func deletedAfterListing() throws {
    let s = uniqueBucket("del-src")
    let d = uniqueBucket("del-dst")
    _ = try makePair(
      servers: servers, scenario: "identical", sourceURL: servers.moto, destinationURL: servers.moto, sourceBucket: s,
      destinationBucket: d, extra: ["--bulk", "120"])
    let victim = "\u{FC}n\u{EF}c\u{F6}d\u{E9}/\u{65E5}\u{672C}\u{8A9E}.txt"  // the last key in byte order
    let dir = try temporaryDirectory()
    let out = dir.appendingPathComponent("report.txt").path
    let tool = try RunningTool(
      pairArguments(
        servers: servers, sourceURL: servers.moto, sourceBucket: s, destinationURL: servers.moto, destinationBucket: d,
        output: out)
        + [
          "--shallow_check", "false", "--num_processes", "1", "--num_connections", "1", "--max_queue_size", "1",
          "--num_objects_report", "10",
        ])
    #expect(tool.waitFor("Processed 10 objects"), "stderr: \(tool.stderr)")
    let del = try runProcess(
      pythonPath(),
      [
        "-c",
        "import boto3,sys; boto3.client('s3',endpoint_url=sys.argv[1],aws_access_key_id='k',aws_secret_access_key='s',region_name='us-east-1').delete_object(Bucket=sys.argv[2],Key=sys.argv[3])",
        servers.moto, d, victim,
      ])
    try #require(del.status == 0, "delete: \(del.stderr)")
    #expect(tool.stderr.contains("Total objects processed") == false, "the run ended before the delete")
    let status = tool.wait()
    #expect(status == 2, "stderr: \(tool.stderr)")
    let report = try String(contentsOfFile: out, encoding: .utf8)
    #expect(
      report.hasPrefix(
        "Difference in Key: \(victim), Differences: [\"Deep check error: destination: HeadObject on bucket '\(d)' key '\(victim)' at \(servers.moto): HTTP 404"
      ), "report: \(report)")
    #expect(report.split(separator: "\n").count == 1)
    #expect(tool.stderr.contains("1 keys could not be checked"))
  }
}
