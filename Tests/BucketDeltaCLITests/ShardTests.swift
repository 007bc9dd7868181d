import Foundation
import Testing

/// A SeaweedFS pair with awkward keys (some listed out of byte order by SeaweedFS) and planted differences.
let shardPair = seaweedPair("shard", bulk: 1100)
/// Keys SeaweedFS lists in byte order, so that shards list only their ranges.
let orderedShardPair = seaweedPair("shard-ord", bulk: 3000, scenario: "ordered")
/// A small moto pair (byte order; every awkward key but a control character).
let motoShardPair = Result {
  let servers = try TestServers.fromEnvironment()
  let s = uniqueBucket("shard-m-src")
  let d = uniqueBucket("shard-m-dst")
  let truth = try makePair(
    servers: servers, scenario: "small", sourceURL: servers.moto, destinationURL: servers.moto, sourceBucket: s,
    destinationBucket: d)
  return (truth: truth, source: s, destination: d)
}

/// The local stand-in for a Kubernetes Indexed Job or an AWS Batch array job: `plan`, every shard as a
/// process of its own with the engine's index variable (several at once), `merge`; compared with the
/// unsharded run of the same manifest, on real servers, with boto3's truth.
@Suite("Shards: plan, run --plan --shard, merge")
struct ShardTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  struct Setup {
    var dir: URL
    var manifest: String
    var env: [String: String]
    var out: String { dir.appendingPathComponent("out").path }
  }

  /// A manifest of one pair at `url` (through a proxy when given), outputs under DIR/out.
  func setup(
    url: String, source: String, destination: String, check: String = "shallow", extra: String = "",
    format: String = "text"
  ) throws -> Setup {
    let dir = try temporaryDirectory()
    let manifest = dir.appendingPathComponent("m.yaml").path
    try """
    version: 1
    endpoints:
      s3: { url: "\(url)", access_key_env: BD_T_AK, secret_key_env: BD_T_SK }
    defaults:
      tuning: { num_processes: 2, num_connections: 4 }
    output:
      dir: "\(dir.path)/out"
      format: \(format)
      # Named otherwise than each shard's own summary.json: merge writes this name.
      summary: "\(dir.path)/out/run-summary.json"
      junit: "\(dir.path)/out/junit.xml"
    pairs:
      - name: p
        source:      { endpoint: s3, bucket: \(source) }
        destination: { endpoint: s3, bucket: \(destination) }
        check: \(check)
    \(extra)
    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    env["BD_T_AK"] = servers.accessKey
    env["BD_T_SK"] = servers.secretKey
    for k in ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] { env[k] = nil }
    return Setup(dir: dir, manifest: manifest, env: env)
  }

  /// The unsharded run: exit status, report, summary (then moved aside, so the shards start clean).
  func whole(_ s: Setup, flags: [String] = []) throws -> (status: Int32, report: Data, summary: [String: Any]) {
    let r = try runProcess(try toolPath(), ["run", s.manifest] + flags, environment: s.env)
    let report = try Data(contentsOf: URL(fileURLWithPath: s.out + "/p.txt"))
    let summary = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.out + "/run-summary.json")))
        as? [String: Any])
    try FileManager.default.moveItem(atPath: s.out, toPath: s.dir.appendingPathComponent("whole").path)
    return (r.status, report, summary)
  }

  /// Starts every shard at once, each with `variable` set to its index; returns their exit statuses.
  func runShards(_ s: Setup, plan: String, shards: Int, variable: String, flags: [String] = []) throws -> [Int32] {
    var runs: [Process] = []
    for i in 0..<shards {
      var env = s.env
      env[variable] = String(i)
      let p = Process()
      p.executableURL = URL(fileURLWithPath: try toolPath())
      p.arguments = ["run", s.manifest, "--plan", plan, "--log_level", "WARN"] + flags
      p.environment = env
      p.standardOutput = FileHandle.nullDevice
      p.standardError = FileHandle.nullDevice
      try p.run()
      runs.append(p)
    }
    return runs.map {
      $0.waitUntilExit()
      return $0.terminationStatus
    }
  }

  func plan(_ s: Setup, shards: Int, name: String = "plan.json", flags: [String] = []) throws -> String {
    let path = s.dir.appendingPathComponent(name).path
    let r = try runProcess(
      try toolPath(), ["plan", s.manifest, "--shards", String(shards), "--output", path] + flags, environment: s.env)
    #expect(r.status == 0, "\(r.stderr)")
    return path
  }

  func summary(_ path: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
  }

  /// The counts of a summary's first pair and its overall status.
  func counts(_ s: [String: Any]) -> [String] {
    let p = (s["pairs"] as? [[String: Any]])?.first ?? [:]
    return [
      "status=\(s["status"] ?? "")", "exit=\(s["exit_code"] ?? "")", "pair=\(p["status"] ?? "")",
    ]
      + [
        "objects_compared", "only_in_source", "only_in_destination", "different", "identical", "unverified", "errors",
        "changed_after_cutoff", "excluded",
      ].map { "\($0)=\(p[$0] ?? "")" }
  }

  @Test(
    "Merged shards equal the unsharded run: report byte for byte, summary counts, exit status (SeaweedFS and moto; N = 1, 4, 7)",
    arguments: [("seaweed", 1), ("seaweed", 4), ("seaweed", 7), ("moto", 4), ("moto", 7)])
  func mergedEqualsWhole(server: String, shards: Int) throws {
    let pair = try (server == "moto" ? motoShardPair : shardPair).get()
    let s = try setup(
      url: server == "moto" ? servers.moto : servers.seaweed, source: pair.source, destination: pair.destination)
    let whole = try whole(s)
    #expect(whole.status == 1)
    #expect(String(decoding: whole.report, as: UTF8.self) == pair.truth.text.map { $0 + "\n" }.joined())
    let planPath = try plan(s, shards: shards)
    let plan = try summary(planPath)
    let boundaries = try #require((plan["pairs"] as? [[String: Any]])?.first?["boundaries"] as? [String])
    #expect(boundaries.count == shards - 1)
    #expect(
      zip(boundaries, boundaries.dropFirst()).allSatisfy {
        Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) || $0 == $1
      })
    // Kubernetes' index variable; AWS Batch's for the 7-shard SeaweedFS plan.
    let variable = server == "seaweed" && shards == 7 ? "AWS_BATCH_JOB_ARRAY_INDEX" : "JOB_COMPLETION_INDEX"
    let statuses = try runShards(s, plan: planPath, shards: shards, variable: variable)
    // A finished shard exits 0 whatever it found (orchestrators retry non-zero exits); merge gives the verdict.
    #expect(statuses.allSatisfy { $0 == 0 }, "\(statuses)")
    let planCheck = try validateAgainstSchema(planPath, schema: "plan.schema.json")
    #expect(planCheck.status == 0, "\(planCheck.stderr)")
    for i in 0..<shards {
      let path = "\(s.out)/shards/\(i)/summary.json"
      let shard = try summary(path)
      #expect((shard["shard"] as? [String: Any])?["index"] as? Int == i)
      let check = try validateAgainstSchema(path, schema: "summary.schema.json")
      #expect(check.status == 0, "\(check.stderr)")
    }
    let merged = try runProcess(try toolPath(), ["merge", planPath, s.out], environment: s.env)
    #expect(merged.status == whole.status, "\(merged.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: s.out + "/p.txt")) == whole.report)
    let m = try summary(s.out + "/run-summary.json")
    #expect(counts(m) == counts(whole.summary))
    #expect((m["shards"] as? [[String: Any]])?.count == shards)
    let check = try validateAgainstSchema(s.out + "/run-summary.json", schema: "summary.schema.json")
    #expect(check.status == 0, "\(check.stderr)")
    let junit = try String(contentsOfFile: s.out + "/junit.xml", encoding: .utf8)
    #expect(junit.contains("failures=\"1\""), "\(junit)")
    // The shards' pieces hold every record once: no key in two ranges.
    let pieces = try (0..<shards).map {
      try String(contentsOfFile: "\(s.out)/shards/\($0)/p.txt", encoding: .utf8).split(separator: "\n").count
    }
    #expect(pieces.reduce(0, +) == pair.truth.text.count)
  }

  @Test("Shards list each bucket about once (keys counted at a recording proxy), also as key ranges within a shard")
  func listsOnce() throws {
    let pair = try orderedShardPair.get()
    let proxy = try FaultProxy(upstream: servers.seaweed, rates: [:])
    let s = try setup(url: proxy.url, source: pair.source, destination: pair.destination)
    // One stream per side in each shard (key ranges overshoot a page per range; they are run below).
    let flags = ["--list_page_size", "100", "--range_listers", "1"]
    let whole = try whole(s, flags: flags)
    #expect(whole.status == 1)
    let planPath = try plan(s, shards: 4, flags: flags)
    let before = proxy.listed()
    for (b, n) in before { #expect(n.keys >= pair.truth.objects - 20, "\(b): \(n)") }
    _ = try runShards(s, plan: planPath, shards: 4, variable: "JOB_COMPLETION_INDEX", flags: flags)
    let after = proxy.listed()
    for b in [pair.source, pair.destination] {
      let keys = (after[b]?.keys ?? 0) - (before[b]?.keys ?? 0)
      let requests = (after[b]?.requests ?? 0) - (before[b]?.requests ?? 0)
      // Each shard may list up to a page past its range, plus a one-key listing at its bound.
      #expect(keys >= pair.truth.objects - 20 && keys <= pair.truth.objects + 4 * 101, "\(b): \(keys) keys")
      #expect(requests <= pair.truth.objects / 100 + 4 * 3, "\(b): \(requests) requests")
    }
    #expect(try runProcess(try toolPath(), ["merge", planPath, s.out], environment: s.env).status == 1)
    #expect(try Data(contentsOf: URL(fileURLWithPath: s.out + "/p.txt")) == whole.report)
    // Key ranges inside each shard (4 listers, 50-key pages): the same report.
    try FileManager.default.removeItem(atPath: s.out)
    let ranged = ["--range_listers", "4", "--list_page_size", "50"]
    let planRanged = try plan(s, shards: 3, name: "plan3.json", flags: ranged)
    _ = try runShards(s, plan: planRanged, shards: 3, variable: "JOB_COMPLETION_INDEX", flags: ranged)
    #expect(try runProcess(try toolPath(), ["merge", planRanged, s.out], environment: s.env).status == 1)
    #expect(try Data(contentsOf: URL(fileURLWithPath: s.out + "/p.txt")) == whole.report)
    let m = try summary(s.out + "/run-summary.json")
    #expect(counts(m) == counts(whole.summary))
  }

  @Test("A shard killed with SIGKILL and resumed with --resume: the merge equals the unsharded run")
  func killedShardResumes() throws {
    let pair = try shardPair.get()
    let s = try setup(url: servers.seaweed, source: pair.source, destination: pair.destination, check: "deep")
    let whole = try whole(s)
    #expect(whole.status == 1)
    let planPath = try plan(s, shards: 2)
    // Shard 0 whole; shard 1 killed once it has reported progress, then resumed.
    #expect(try runShards(s, plan: planPath, shards: 1, variable: "JOB_COMPLETION_INDEX").allSatisfy { $0 == 0 })
    var env = s.env
    env["JOB_COMPLETION_INDEX"] = "1"
    let err = s.dir.appendingPathComponent("shard1.err").path
    let args = ["run", s.manifest, "--plan", planPath, "--num_objects_report", "50", "--resume"]
    let run = try GroupRun(args, environment: env, stderr: err)
    var seen = false
    for _ in 0..<3000 {
      if ((try? String(contentsOfFile: err, encoding: .utf8)) ?? "").contains("Processed 100 objects") {
        seen = true
        break
      }
      usleep(5_000)
    }
    #expect(seen)
    run.killGroup()
    _ = run.wait()
    let early = try runProcess(try toolPath(), ["merge", planPath, s.out], environment: s.env)
    #expect(early.status == 2)
    #expect(early.stderr.contains("shard 1:") && early.stderr.contains("re-run index 1"), "\(early.stderr)")
    let resumed = try runProcess(try toolPath(), args, environment: env)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("Resuming from checkpoint"), "\(resumed.stderr)")
    let merged = try runProcess(try toolPath(), ["merge", planPath, s.out], environment: s.env)
    #expect(merged.status == 1, "\(merged.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: s.out + "/p.txt")) == whole.report)
    let m = try summary(s.out + "/run-summary.json")
    #expect(counts(m) == counts(whole.summary))
    #expect(((m["pairs"] as? [[String: Any]])?.first?["resumed"] as? Int) == 1)
  }

  @Test(
    "Refused: a missing shard, a shard of another plan, a plan of other settings, no shard index, an index out of range"
  )
  func refusals() throws {
    let pair = try motoShardPair.get()
    let s = try setup(url: servers.moto, source: pair.source, destination: pair.destination)
    let planPath = try plan(s, shards: 3)
    // Only shards 0 and 1 run: merge names shard 2.
    _ = try runShards(s, plan: planPath, shards: 2, variable: "JOB_COMPLETION_INDEX")
    let missing = try runProcess(try toolPath(), ["merge", planPath, s.out], environment: s.env)
    #expect(missing.status == 2)
    #expect(
      missing.stderr.contains("shard 2: no summary") && missing.stderr.contains("re-run index 2"), "\(missing.stderr)")
    #expect(!FileManager.default.fileExists(atPath: s.out + "/p.txt"))
    // Shard 2 from a plan of the same manifest made with other flags: refused by the merge.
    let other = try plan(s, shards: 3, name: "other.json", flags: ["--output_format", "jsonl"])
    var env = s.env
    env["JOB_COMPLETION_INDEX"] = "2"
    let foreign = try runProcess(
      try toolPath(), ["run", s.manifest, "--plan", other, "--output_format", "jsonl"], environment: env)
    #expect(foreign.status == 0 || foreign.status == 1, "\(foreign.stderr)")
    let mixed = try runProcess(try toolPath(), ["merge", planPath, s.out], environment: s.env)
    #expect(mixed.status == 2)
    #expect(mixed.stderr.contains("shard 2:") && mixed.stderr.contains("another plan"), "\(mixed.stderr)")
    // A plan made for other settings (here: the other output format) is refused by the run.
    let wrong = try runProcess(
      try toolPath(), ["run", s.manifest, "--plan", other, "--shard", "0"], environment: s.env)
    #expect(wrong.status == 2)
    #expect(wrong.stderr.contains("planned for other settings of pair p"), "\(wrong.stderr)")
    // No index anywhere: not guessed.
    let none = try runProcess(try toolPath(), ["run", s.manifest, "--plan", planPath], environment: s.env)
    #expect(none.status == 2)
    #expect(none.stderr.contains("JOB_COMPLETION_INDEX") && none.stderr.contains("--shard"), "\(none.stderr)")
    let outOfRange = try runProcess(
      try toolPath(), ["run", s.manifest, "--plan", planPath, "--shard", "3"], environment: s.env)
    #expect(outOfRange.status == 2)
    #expect(outOfRange.stderr.contains("--shard=3: the plan has 3 shards, 0 to 2"), "\(outOfRange.stderr)")
    // A plan whose boundaries were edited by hand.
    var edited = try summary(planPath)
    var planned = try #require((edited["pairs"] as? [[String: Any]])?.first)
    planned["boundaries"] = (planned["boundaries"] as? [String] ?? []) + ["\u{10FFFF}"]
    planned["estimates"] = (planned["estimates"] as? [Int] ?? []) + [0]
    edited["pairs"] = [planned]
    edited["shards"] = 4
    try JSONSerialization.data(withJSONObject: edited).write(to: URL(fileURLWithPath: planPath))
    let tampered = try runProcess(try toolPath(), ["merge", planPath, s.out], environment: s.env)
    #expect(tampered.status == 2)
    #expect(tampered.stderr.contains("changed after planning"), "\(tampered.stderr)")
  }

  @Test("An empty pair and ranges with no keys: planned, run and merged like the unsharded run")
  func emptyPairAndEmptyRanges() throws {
    let empty = (uniqueBucket("shard-e-src"), uniqueBucket("shard-e-dst"))
    let tiny = (uniqueBucket("shard-t-src"), uniqueBucket("shard-t-dst"))
    for (b, keys) in [(empty.0, [String]()), (empty.1, []), (tiny.0, ["a", "b", "c"]), (tiny.1, ["a", "b", "d"])] {
      _ = try runFixture(
        "put_keys.py", ["--url", servers.seaweed, "--bucket", b] + keys, servers: servers)
    }
    for (pair, allow, expected) in [(empty, false, Int32(2)), (empty, true, 0), (tiny, false, 1)] {
      let s = try setup(
        url: servers.seaweed, source: pair.0, destination: pair.1,
        extra: allow ? "    allow_empty: true" : "")
      let whole = try whole(s)
      #expect(whole.status == expected)
      let planPath = try plan(s, shards: 7)
      let statuses = try runShards(s, plan: planPath, shards: 7, variable: "JOB_COMPLETION_INDEX")
      #expect(statuses.allSatisfy { $0 == 0 }, "\(statuses)")
      let merged = try runProcess(try toolPath(), ["merge", planPath, s.out], environment: s.env)
      #expect(merged.status == expected, "\(merged.stderr)")
      #expect(try Data(contentsOf: URL(fileURLWithPath: s.out + "/p.txt")) == whole.report)
      #expect(counts(try summary(s.out + "/run-summary.json")) == counts(whole.summary))
    }
  }
}

/// The Kubernetes and AWS Batch examples, validated offline by those systems' own schemas
/// (`Tests/fixtures/validate_examples.py`: kubernetes-validate, botocore's `batch` model).
@Suite("Examples for Kubernetes and AWS Batch")
struct OrchestratorExampleTests {
  func validate(_ root: String) throws -> ProcessOutput {
    try runProcess(
      pythonPath(), [repoRoot.appendingPathComponent("Tests/fixtures/validate_examples.py").path, root])
  }

  @Test("They validate; a copy with an unknown Job field, a wrong Batch type or out-of-step shard counts does not")
  func validated() throws {
    let ok = try validate(repoRoot.path)
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(ok.stdout.contains("shards-job.yaml: Job/bucket-delta-shards OK"))
    #expect(ok.stdout.contains("botocore batch RegisterJobDefinition: job-definition.json OK"))
    // Broken copies: each must be caught.
    let mutations: [(file: String, from: String, to: String, message: String)] = [
      (
        "kubernetes/shards-job.yaml", "  completionMode: Indexed", "  completionMode: Indexed\n  completionIndex: 3",
        "completionIndex"
      ),
      ("kubernetes/shards-job.yaml", "  completions: 16", "  completions: 12", "completions != plan --shards"),
      ("aws-batch/job-definition.json", "\"attempts\": 4", "\"attempts\": \"4\"", "attempts"),
      ("aws-batch/submit-shards.json", "\"arrayProperties\"", "\"arrayProps\"", "arrayProps"),
    ]
    for m in mutations {
      let dir = try temporaryDirectory()
      try FileManager.default.copyItem(
        at: repoRoot.appendingPathComponent("examples"), to: dir.appendingPathComponent("examples"))
      let file = dir.appendingPathComponent("examples/\(m.file)").path
      let text = try String(contentsOfFile: file, encoding: .utf8)
      #expect(text.contains(m.from), "\(m.file)")
      try text.replacingOccurrences(of: m.from, with: m.to).write(toFile: file, atomically: true, encoding: .utf8)
      let r = try validate(dir.path)
      #expect(r.status == 1, "\(m.file): \(m.to)")
      #expect(r.stderr.contains(m.message), "\(m.file): \(r.stderr)")
    }
  }
}
