import Foundation
import Testing

/// Live buckets on real servers: an as-of cutoff while a writer changes the source, filters over awkward
/// keys, ignored fields across vendors. Fixtures and the writer are boto3 (`Tests/fixtures/make_live_pair.py`).
@Suite("Live buckets: as-of cutoff, filters, ignored fields")
struct LiveBucketTests {
  struct Live: Decodable {
    var planted: [String: String]
    var live: [String]
  }

  static func records(_ path: String) -> [(key: String, status: String)] {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
      guard let o = try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] else { return nil }
      return (o["key"] as? String ?? "", o["status"] as? String ?? "")
    }
  }

  static func pairSummary(_ path: String) -> [String: Any] {
    let s = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))) as? [String: Any]
    return (s?["pairs"] as? [[String: Any]])?.first ?? [:]
  }

  /// Runs the tool while the writer changes the source (started after the tool, so every write is after
  /// the run's start); returns the exit status and the keys the writer touched.
  static func runWhileWriting(
    _ servers: TestServers, buckets: (String, String), keysFile: String, dir: URL, through url: String,
    _ extra: [String]
  ) throws -> (Int32, Set<String>, String) {
    let touched = dir.appendingPathComponent("touched-\(UUID().uuidString)").path
    let stop = dir.appendingPathComponent("stop-\(UUID().uuidString)").path
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    let err = dir.appendingPathComponent("err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let tool = Process()
    tool.executableURL = URL(fileURLWithPath: try toolPath())
    tool.arguments =
      pairArguments(
        servers: servers, sourceURL: url, sourceBucket: buckets.0, destinationURL: url,
        destinationBucket: buckets.1, output: dir.appendingPathComponent("r.jsonl").path)
      + ["--output_format", "jsonl", "--summary", dir.appendingPathComponent("s.json").path, "--list_page_size", "10"]
      + extra
    tool.environment = env
    tool.standardError = try FileHandle(forWritingTo: err)
    tool.standardOutput = FileHandle.nullDevice
    var writerEnv = ProcessInfo.processInfo.environment
    writerEnv["BD_S3_ACCESS_KEY"] = servers.accessKey
    writerEnv["BD_S3_SECRET_KEY"] = servers.secretKey
    let writer = Process()
    writer.executableURL = URL(fileURLWithPath: pythonPath())
    writer.arguments = [
      repoRoot.appendingPathComponent("Tests/fixtures/make_live_pair.py").path, "write", "--url", servers.seaweed,
      "--source-bucket", buckets.0, "--keys-file", keysFile, "--touched", touched, "--stop", stop,
    ]
    writer.environment = writerEnv
    try tool.run()
    try writer.run()
    tool.waitUntilExit()
    _ = FileManager.default.createFile(atPath: stop, contents: Data())
    writer.waitUntilExit()
    let keys = ((try? String(contentsOfFile: touched, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) as? String
    }
    return (tool.terminationStatus, Set(keys), try String(contentsOf: err, encoding: .utf8))
  }

  @Test(
    "as_of: run_start while a writer puts, overwrites and deletes: only the planted differences count",
    arguments: [false, true])
  func cutoffWhileWriting(deep: Bool) throws {
    let servers = try TestServers.fromEnvironment()
    let s = uniqueBucket("live-src")
    let d = uniqueBucket("live-dst")
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = try runFixture(
      "make_live_pair.py",
      ["make", "--url", servers.seaweed, "--source-bucket", s, "--dest-bucket", d, "--versioned", "--live", "150"],
      servers: servers)
    let keysFile = dir.appendingPathComponent("keys.json").path
    try out.write(toFile: keysFile, atomically: true, encoding: .utf8)
    let truth = try JSONDecoder().decode(Live.self, from: Data(out.utf8))
    // The cutoff's own second counts as after it: start in a later second than the fixture's last write.
    Thread.sleep(forTimeInterval: 1.1)
    // Each request 20 ms later: the listing and the checks take a few seconds while the writer works.
    let proxy = try FaultProxy(upstream: servers.seaweed, rates: ["pdelay": 1, "delay": 0.02])
    let depth = deep ? ["--shallow_check", "false", "--num_processes", "1", "--num_connections", "4"] : []
    let (status, touched, log) = try Self.runWhileWriting(
      servers, buckets: (s, d), keysFile: keysFile, dir: dir, through: proxy.url,
      depth + ["--as_of", "run_start", "--report_skipped"])
    #expect(status == 1, "\(log)")
    let records = Self.records(dir.appendingPathComponent("r.jsonl").path)
    for (key, expected) in truth.planted {
      #expect(records.contains { $0.key == key && $0.status == expected }, "planted \(key) \(expected)")
    }
    let skipped = records.filter { $0.status == "changed_after_cutoff" }
    #expect(!skipped.isEmpty, "the writer changed keys the run had not reached: \(touched.count) touched")
    for r in records where truth.planted[r.key] == nil {
      #expect(r.status == "changed_after_cutoff", "\(r.key): \(r.status)")
      #expect(touched.contains(r.key), "\(r.key) was not touched by the writer")
    }
    let pair = Self.pairSummary(dir.appendingPathComponent("s.json").path)
    #expect(pair["changed_after_cutoff"] as? Int == skipped.count)
    #expect(pair["errors"] as? Int == 0)
    #expect(pair["status"] as? String == "different")
    #expect((pair["versioning"] as? [String: String])?["source"] == "Enabled")
    #expect(pair["as_of"] as? String != nil)
    #expect(log.contains("has versioning Enabled: only the latest versions are compared"))

    // Without a cutoff, today's behaviour: the writer's changes are differences (or, deep, errors).
    let (again, touchedAgain, log2) = try Self.runWhileWriting(
      servers, buckets: (s, d), keysFile: keysFile, dir: dir, through: proxy.url, depth)
    #expect(again == 1 || again == 2, "\(log2)")
    let plain = Self.records(dir.appendingPathComponent("r.jsonl").path)
    #expect(!plain.contains { $0.status == "changed_after_cutoff" })
    #expect(
      plain.contains { truth.planted[$0.key] == nil && (touched.contains($0.key) || touchedAgain.contains($0.key)) },
      "the first writer's changes are differences now")
  }

  @Test("Filters over awkward keys: order decides, excluded keys are counted, a rule matching nothing is warned about")
  func filters() throws {
    let servers = try TestServers.fromEnvironment()
    let s = uniqueBucket("flt-src")
    let d = uniqueBucket("flt-dst")
    let keys = [
      "data/a b.txt", "data/c+d.txt", "data/e%20f.txt", "data/über/ü.txt", "data/[x].partial", "data/[x].txt",
      "data/tmp/x", "tmp/y", "other/z.txt", "logs/[2026]/a.log", "logs/2/a.log",
    ]
    // Every key only in the source: the report lists exactly the keys compared.
    _ = try runFixture(
      "make_live_pair.py", ["keys", "--url", servers.seaweed, "--source-bucket", s, "--dest-bucket", d] + keys,
      servers: servers)
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let report = dir.appendingPathComponent("r.jsonl").path
    let summary = dir.appendingPathComponent("s.json").path
    let base =
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: s, destinationURL: servers.seaweed,
        destinationBucket: d, output: report) + ["--output_format", "jsonl", "--summary", summary]
    let r = try runProcess(
      try toolPath(),
      base + [
        "--exclude", "*.partial", "--exclude", "tmp/", "--include", "/data/**", "--include=/logs/\\[2026\\]/*.log",
        "--include", "/nothing/*",
      ])
    #expect(r.status == 1, "\(r.stderr)")
    let compared = Set(Self.records(report).map(\.key))
    #expect(
      compared == [
        "data/a b.txt", "data/c+d.txt", "data/e%20f.txt", "data/über/ü.txt", "data/[x].txt", "logs/[2026]/a.log",
      ])
    let pair = Self.pairSummary(summary)
    #expect(pair["excluded"] as? Int == keys.count - compared.count)
    #expect(
      (pair["filters"] as? [String])
        == [
          "exclude *.partial", "exclude tmp/", "include /data/**", "include /logs/\\[2026\\]/*.log",
          "include /nothing/*",
        ])
    #expect(r.stderr.contains("filter rule 'include /nothing/*' matched no key of the pair"))
    #expect((pair["warnings"] as? [String])?.contains { $0.contains("'include /nothing/*' matched no key") } == true)
    // The order given decides: an include before the exclude keeps data/tmp/x.
    let o = try runProcess(
      try toolPath(), base + ["--include", "/data/tmp/**", "--exclude", "tmp/", "--include", "/data/**"])
    #expect(o.status == 1, "\(o.stderr)")
    #expect(Set(Self.records(report).map(\.key)).contains("data/tmp/x"))
    #expect(!Set(Self.records(report).map(\.key)).contains("tmp/y"))
    // Includes sharing an anchored start narrow the listing: only keys under data/ are listed.
    let n = try runProcess(
      try toolPath(), base + ["--include", "/data/*.txt", "--include", "/data/über/**", "--log_level", "DEBUG"])
    #expect(n.status == 1, "\(n.stderr)")
    #expect(n.stderr.contains("Listing only keys starting with 'data/'"))
    #expect(
      Set(Self.records(report).map(\.key)) == [
        "data/a b.txt", "data/c+d.txt", "data/e%20f.txt", "data/über/ü.txt", "data/[x].txt",
      ])
    #expect(
      Self.pairSummary(summary)["excluded"] as? Int == 2, "data/[x].partial and data/tmp/x were listed, then left out")
  }

  @Test("ignore: Content-Type and one metadata name across vendors; every other field still compared")
  func ignoredFields() throws {
    let servers = try TestServers.fromEnvironment()
    let s = uniqueBucket("ign-src")
    let d = uniqueBucket("ign-dst")
    _ = try runFixture(
      "make_live_pair.py",
      ["ignore", "--url", servers.seaweed, "--dest-url", servers.moto, "--source-bucket", s, "--dest-bucket", d],
      servers: servers)
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let report = dir.appendingPathComponent("r.txt").path
    let args =
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: s, destinationURL: servers.moto,
        destinationBucket: d, output: report) + ["--shallow_check", "false"]
    let noisy = try runProcess(try toolPath(), args)
    #expect(noisy.status == 1, "\(noisy.stderr)")
    let before = try String(contentsOfFile: report, encoding: .utf8)
    #expect(
      before.contains("Difference in Key: owner-differs, Differences: ['Metadata differs', 'ContentType differs']"),
      "\(before)")
    let r = try runProcess(try toolPath(), args + ["--ignore", "content_type", "--ignore", "metadata.owner"])
    #expect(r.status == 1, "\(r.stderr)")
    #expect(
      try String(contentsOfFile: report, encoding: .utf8)
        == """
        Difference in Key: cache-differs, Differences: ['CacheControl differs']
        Difference in Key: keep-differs, Differences: ['Metadata differs']

        """)
    let bad = try runProcess(try toolPath(), args + ["--ignore", "colour"])
    #expect(bad.status == 2)
    #expect(bad.stderr.contains("--ignore: unknown field 'colour' (expected one of: content_type"), "\(bad.stderr)")
  }

  @Test("A resumed as-of run keeps the cutoff its checkpoint recorded, not its own start")
  func resumeKeepsCutoff() throws {
    let servers = try TestServers.fromEnvironment()
    let s = uniqueBucket("asof-src")
    let d = uniqueBucket("asof-dst")
    _ = try runFixture(
      "make_live_pair.py",
      ["make", "--url", servers.seaweed, "--source-bucket", s, "--dest-bucket", d, "--live", "120"],
      servers: servers)
    Thread.sleep(forTimeInterval: 1.1)
    let proxy = try FaultProxy(upstream: servers.seaweed, rates: ["pdelay": 1, "delay": 0.1])
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    let report = dir.appendingPathComponent("r.txt").path
    let summary = dir.appendingPathComponent("s.json").path
    let arguments =
      pairArguments(
        servers: servers, sourceURL: proxy.url, sourceBucket: s, destinationURL: proxy.url, destinationBucket: d,
        output: report)
      + [
        "--as_of", "run_start", "--list_page_size", "5", "--num_objects_report", "10", "--range_listers", "1",
        "--summary", summary,
      ]
    let err = dir.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try toolPath())
    p.arguments = arguments
    p.environment = env
    p.standardError = try FileHandle(forWritingTo: err)
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    for _ in 0..<600 {
      if ((try? String(contentsOf: err, encoding: .utf8)) ?? "").contains("Processed 20 objects") { break }
      usleep(25_000)
    }
    kill(p.processIdentifier, SIGINT)
    p.waitUntilExit()
    let first = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
    #expect(p.terminationStatus == 130, "\(first)")
    func cutoff(_ log: String) -> String? {
      log.split(separator: "\n").first { $0.contains("As-of cutoff: ") }.map {
        String($0[$0.range(of: "As-of cutoff: ")!.upperBound...].prefix(20))
      }
    }
    let before = try #require(cutoff(first))
    Thread.sleep(forTimeInterval: 1.1)  // a fresh run_start would be a later second now
    let r = try runProcess(try toolPath(), arguments + ["--resume"], environment: env)
    #expect(r.status == 1, "\(r.stderr)")
    #expect(cutoff(r.stderr) == before, "\(r.stderr)")
    let pair = Self.pairSummary(summary)
    #expect(pair["as_of"] as? String == before)
    #expect(pair["changed_after_cutoff"] as? Int == 0)
  }
}
