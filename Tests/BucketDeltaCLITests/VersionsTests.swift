import Foundation
import Testing

/// `versions: true` on real versioned buckets, against histories made and replayed with boto3
/// (`Tests/fixtures/make_version_pair.py`), which also says what each backup must report.
@Suite("Versions: histories compared")
struct VersionsTests {
  struct Pair: Decodable {
    struct Backup: Decodable {
      var bucket: String
      var expected: [[String?]]
      var deep: [[String?]]
    }
    var source: String
    var backups: [String: Backup]
  }

  @Test(
    "Full, latest-only, changed, middle-missing, marker-missing and extra histories", arguments: ["seaweedfs", "moto"])
  func histories(server: String) throws {
    let servers = try TestServers.fromEnvironment()
    let url = server == "moto" ? servers.moto : servers.seaweed
    let out = try runFixture("make_version_pair.py", ["--url", url, "--prefix", uniqueBucket("ver")], servers: servers)
    let pair = try JSONDecoder().decode(Pair.self, from: Data(out.utf8))
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let report = dir.appendingPathComponent("r.jsonl").path
    let summary = dir.appendingPathComponent("s.json").path
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    func run(_ backup: String, _ extra: [String] = []) throws -> (ProcessOutput, [[String?]], [String: Any]) {
      let r = try runProcess(
        try toolPath(),
        pairArguments(
          servers: servers, sourceURL: url, sourceBucket: pair.source, destinationURL: url,
          destinationBucket: pair.backups[backup]!.bucket, output: report)
          + ["--versions", "--output_format", "jsonl", "--summary", summary, "--list_page_size", "3"] + extra,
        environment: env)
      let records: [[String?]] = ((try? String(contentsOfFile: report, encoding: .utf8)) ?? "").split(separator: "\n")
        .map {
          let o = (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:]
          func position(_ side: String) -> String? {
            ((o[side] as? [String: Any])?["position"] as? Int).map(String.init)
          }
          return [o["key"] as? String, o["status"] as? String, position("source"), position("destination")]
        }
      let s =
        (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary)))) as? [String: Any]
      return (r, records, (s?["pairs"] as? [[String: Any]])?.first ?? [:])
    }
    func sorted(_ r: [[String?]]) -> [[String?]] { r.sorted { "\($0)" < "\($1)" } }
    for (kind, backup) in pair.backups.sorted(by: { $0.key < $1.key }) {
      // Shallow from the listings; deep with HeadObject/GetObjectTagging per aligned version pair.
      for (depth, expected) in [("shallow", backup.expected), ("deep", backup.deep)] {
        let (r, records, summaryPair) = try run(kind, depth == "deep" ? ["--shallow_check", "false"] : [])
        #expect(r.status == (expected.isEmpty ? 0 : 1), "\(server) \(kind) \(depth): \(r.stderr)")
        #expect(sorted(records) == sorted(expected), "\(server) \(kind) \(depth)")
        #expect(summaryPair["versions_compared"] as? Int ?? 0 > 0, "\(server) \(kind)")
        let counts = summaryPair["version_differences"] as? [String: Int] ?? [:]
        #expect(counts.values.reduce(0, +) == expected.count, "\(server) \(kind) \(depth): \(counts)")
        #expect(!r.stderr.contains("only the latest versions are compared"))
      }
    }
    // Extra destination versions allowed: nothing to report.
    let (allowed, records, _) = try run("extra", ["--extra_destination_versions", "allow"])
    #expect(allowed.status == 0, "\(allowed.stderr)")
    #expect(records.isEmpty)
    // Delete markers left out: the missing marker no longer counts.
    let (noMarkers, r2, _) = try run("marker", ["--compare_delete_markers", "false"])
    #expect(noMarkers.status == 0 && r2.isEmpty, "\(noMarkers.stderr)")
    // Without --versions the versioned source is named, and a latest-only backup passes the latest check.
    let latest = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: url, sourceBucket: pair.source, destinationURL: url,
        destinationBucket: pair.backups["latest"]!.bucket, output: report) + ["--summary", summary],
      environment: env)
    #expect(latest.status == 0, "\(latest.stderr)")
    #expect(latest.stderr.contains("has versioning Enabled: only the latest versions are compared"))
    // Reading the content of every version is not built: refused with what to do instead.
    let content = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: url, sourceBucket: pair.source, destinationURL: url,
        destinationBucket: pair.backups["full"]!.bucket, output: report) + ["--versions", "--verify", "content"],
      environment: env)
    #expect(content.status == 2)
    #expect(content.stderr.contains("use verify: etag for a shallow check"), "\(content.stderr)")
  }

  @Test("An interrupted versions run resumes at a key and ends with the whole run's report")
  func resume() throws {
    let servers = try TestServers.fromEnvironment()
    let out = try runFixture(
      "make_version_pair.py", ["--url", servers.seaweed, "--prefix", uniqueBucket("vres")], servers: servers)
    let pair = try JSONDecoder().decode(Pair.self, from: Data(out.utf8))
    // Every request 0.15 s later, one version per page: the run lasts a few seconds.
    let proxy = try FaultProxy(upstream: servers.seaweed, rates: ["pdelay": 1, "delay": 0.15])
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    func arguments(_ report: String) -> [String] {
      pairArguments(
        servers: servers, sourceURL: proxy.url, sourceBucket: pair.source, destinationURL: proxy.url,
        destinationBucket: pair.backups["latest"]!.bucket, output: report)
        + ["--versions", "--list_page_size", "1", "--num_objects_report", "1"]
    }
    let whole = dir.appendingPathComponent("whole.txt").path
    let w = try runProcess(try toolPath(), arguments(whole), environment: env)
    #expect(w.status == 1, "\(w.stderr)")
    let report = dir.appendingPathComponent("r.txt").path
    let err = dir.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try toolPath())
    p.arguments = arguments(report)
    p.environment = env
    p.standardError = try FileHandle(forWritingTo: err)
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    for _ in 0..<400 {
      if ((try? String(contentsOf: err, encoding: .utf8)) ?? "").contains("Processed 2 keys") { break }
      usleep(25_000)
    }
    kill(p.processIdentifier, SIGINT)
    p.waitUntilExit()
    #expect(p.terminationStatus == 130, "\((try? String(contentsOf: err, encoding: .utf8)) ?? "")")
    let r = try runProcess(try toolPath(), arguments(report) + ["--resume"], environment: env)
    #expect(r.status == 1, "\(r.stderr)")
    #expect(r.stderr.contains("Resuming from checkpoint"))
    #expect(try String(contentsOfFile: report, encoding: .utf8) == String(contentsOfFile: whole, encoding: .utf8))
  }
}
