import Foundation
import Testing

/// The verification ladder against real servers: objects copied with other part sizes, single-part vs
/// multipart, with and without CRC32 checksums (full-object and composite), beside real one-byte changes,
/// made with boto3 (`Tests/fixtures/make_rechunk_pair.py`).
@Suite("Verification levels end to end")
struct VerifyEndToEndTests {
  /// A run's mode: shallow or deep, and the verify level.
  enum Mode: String, CaseIterable {
    case shallowETag, shallowChecksum, deepETag, deepChecksum, shallowContent, deepContentAll
    var arguments: [String] {
      switch self {
      case .shallowETag: return ["--shallow_check", "true", "--verify", "etag"]
      case .shallowChecksum: return ["--shallow_check", "true", "--verify", "checksum"]
      case .deepETag: return ["--shallow_check", "false", "--verify", "etag"]
      // deep checks verify checksums by default
      case .deepChecksum: return ["--shallow_check", "false"]
      case .shallowContent: return ["--shallow_check", "true", "--verify", "content"]
      case .deepContentAll: return ["--shallow_check", "false", "--verify", "content", "--content_scope", "all"]
      }
    }
  }

  /// What each key of `m/` must come out as, per mode: status and how it was decided (`-` for none).
  static let expected: [String: [Mode: (String, String)]] = {
    let u = ("unverified", "-")
    func all(_ v: (String, String)) -> [Mode: (String, String)] {
      Dictionary(uniqueKeysWithValues: Mode.allCases.map { ($0, v) })
    }
    // Part sizes become known only to HEADs (`?partNumber=1`): every mode but the shallow ETag one.
    // Content: read where nothing below decides (shallowContent), or every key of equal size
    // (deepContentAll): one side where both ETags can be recomputed from its bytes, both otherwise.
    func read(_ v: (String, String)) -> [Mode: (String, String)] {
      [.shallowETag: u, .shallowChecksum: u, .deepETag: u, .deepChecksum: u, .shallowContent: v, .deepContentAll: v]
    }
    let byLayout: [Mode: (String, String)] = [
      .shallowETag: u, .shallowChecksum: ("different", "etag"), .deepETag: ("different", "etag"),
      .deepChecksum: ("different", "etag"), .shallowContent: ("different", "etag"),
      .deepContentAll: ("different", "etag-recomputed"),
    ]
    func byChecksum(_ v: (String, String), all: (String, String)) -> [Mode: (String, String)] {
      [.shallowETag: u, .shallowChecksum: v, .deepETag: u, .deepChecksum: v, .shallowContent: v, .deepContentAll: all]
    }
    func byETag(_ v: (String, String)) -> [Mode: (String, String)] {
      var m = all(v)
      m[.deepContentAll] = (v.0, "etag-recomputed")
      return m
    }
    return [
      "same-3v2": read(("identical", "etag-recomputed")),
      "single-vs-multi": read(("identical", "etag-recomputed")),
      // neither side's parts... the source's are not cut to one size: both sides are read
      "same-count-diff-first": read(("identical", "content:sha256")),
      "change-same-layout": byLayout,
      "change-diff-layout": read(("different", "etag-recomputed")),
      "crc-full-same": byChecksum(("identical", "checksum:CRC32"), all: ("identical", "etag-recomputed")),
      "crc-full-diff": byChecksum(("different", "checksum:CRC32"), all: ("different", "etag-recomputed")),
      "crc64-full-same": byChecksum(("identical", "checksum:CRC64NVME"), all: ("identical", "etag-recomputed")),
      "crc64-full-diff": byChecksum(("different", "checksum:CRC64NVME"), all: ("different", "etag-recomputed")),
      "composite-diff-layout-same": read(("identical", "etag-recomputed")),
      "composite-same-layout-diff": byLayout,
      "small-same": byETag(("identical", "etag")),
      "small-diff": byETag(("different", "etag")),
      "size-diff": all(("different", "size")),
    ]
  }()

  /// Exit status per prefix and mode: `d/` holds only what checksums decide, `u/` only what nothing
  /// short of reading the bytes could.
  static let exits: [String: [Mode: Int32]] = [
    "m/": [
      .shallowETag: 1, .shallowChecksum: 1, .deepETag: 1, .deepChecksum: 1, .shallowContent: 1, .deepContentAll: 1,
    ],
    "d/": [
      .shallowETag: 3, .shallowChecksum: 0, .deepETag: 3, .deepChecksum: 0, .shallowContent: 0, .deepContentAll: 0,
    ],
    "u/": [
      .shallowETag: 3, .shallowChecksum: 3, .deepETag: 3, .deepChecksum: 3, .shallowContent: 0, .deepContentAll: 0,
    ],
  ]

  static func makePair(_ url: String, _ servers: TestServers) throws -> (String, String) {
    let s = uniqueBucket("rechunk-src")
    let d = uniqueBucket("rechunk-dst")
    _ = try runFixture(
      "make_rechunk_pair.py", ["--url", url, "--source-bucket", s, "--dest-bucket", d], servers: servers)
    return (s, d)
  }

  struct Run {
    var status: Int32
    var records: [[String: Any]]
    var summary: [String: Any]
    var stderr: String
  }

  static func run(
    _ servers: TestServers, _ url: String, _ buckets: (String, String), prefix: String, mode: Mode,
    extra: [String] = []
  ) throws -> Run {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let report = dir.appendingPathComponent("r.jsonl").path
    let summary = dir.appendingPathComponent("s.json").path
    let r = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: url, sourceBucket: buckets.0, destinationURL: url, destinationBucket: buckets.1,
        output: report)
        + [
          "--source_prefix", prefix, "--destination_prefix", prefix, "--output_format", "jsonl", "--report_matches",
          "--summary", summary, "--num_processes", "1", "--range_listers", "1",
        ] + mode.arguments + extra)
    let lines = (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
    let records = try lines.split(separator: "\n").map {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
    let s = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as! [String: Any]
    return Run(status: r.status, records: records, summary: s, stderr: r.stderr)
  }

  @Test(
    "Every key's verdict and evidence match the table at each level, shallow and deep; exit 0, 1 or 3 as specified",
    arguments: ["seaweedfs", "moto"])
  func ladder(server: String) throws {
    let servers = try TestServers.fromEnvironment()
    let url = server == "moto" ? servers.moto : servers.seaweed
    let buckets = try Self.makePair(url, servers)
    var requests: [Mode: Int] = [:]
    for mode in Mode.allCases {
      let r = try Self.run(servers, url, buckets, prefix: "m/", mode: mode)
      #expect(r.status == 1, "\(server) \(mode): \(r.stderr)")
      // report_matches: every key has exactly one record, in byte order
      let keys: [String] = r.records.map { $0["key"] as! String }
      let byteOrder: [String] = Self.expected.keys.sorted { a, b in
        Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
      }
      #expect(keys == byteOrder)
      var counts: [String: Int] = [:]
      var methods: [String: Int] = [:]
      for rec in r.records {
        let key = rec["key"] as! String
        let status = rec["status"] as! String
        let by = rec["verified_by"] as? String ?? "-"
        let want = Self.expected[key]![mode]!
        let reason = rec["reason"] as? String ?? "-"
        let matches = status == want.0 && by == want.1
        #expect(matches, "\(server) \(mode) \(key): \(status) by \(by), reason \(reason)")
        // an unverified record says why; no other record has a reason
        let hasReason = rec["reason"] != nil
        #expect(hasReason == (status == "unverified"), "\(server) \(mode) \(key)")
        counts[status, default: 0] += 1
        if by != "-" { methods[by, default: 0] += 1 }
      }
      let pair = (r.summary["pairs"] as! [[String: Any]])[0]
      #expect(pair["identical"] as? Int == counts["identical", default: 0], "\(server) \(mode)")
      #expect(pair["unverified"] as? Int == counts["unverified", default: 0], "\(server) \(mode)")
      #expect(pair["different"] as? Int == counts["different", default: 0], "\(server) \(mode)")
      #expect(pair["verified_by"] as? [String: Int] == methods, "\(server) \(mode)")
      let level =
        [Mode.shallowETag, .deepETag].contains(mode)
        ? "etag" : [.shallowContent, .deepContentAll].contains(mode) ? "content" : "checksum"
      #expect(pair["verify"] as? String == level)
      #expect(r.summary["exit_code"] as? Int == 1)
      requests[mode] = pair["requests"] as? Int
    }
    // A shallow check at verify: checksum sends HEADs only for the keys the listings left unverified
    // (11 of 14, two HEADs each) and a ?partNumber=1 HEAD per side for the 3 with one part count.
    let extra: Int = requests[.shallowChecksum]! - requests[.shallowETag]!
    #expect(extra == 11 * 2 + 3 * 2, "\(requests)")

    // A run whose content budget cannot cover a read leaves the key unverified, saying why: exit 3.
    let capped = try Self.run(
      servers, url, buckets, prefix: "u/", mode: .shallowContent, extra: ["--max_content_bytes", "1000"])
    #expect(capped.status == 3, "\(server): \(capped.stderr)")
    #expect(capped.records.count == 1 && capped.records[0]["status"] as? String == "unverified")
    let cappedReason = capped.records.first?["reason"] as? String ?? ""
    #expect(cappedReason.hasSuffix("; not read: the run's max_content_bytes is spent"), "\(cappedReason)")
    #expect((capped.summary["pairs"] as! [[String: Any]])[0]["bytes_read"] as? Int == 0)

    for prefix in ["d/", "u/"] {
      for mode in Mode.allCases {
        let r = try Self.run(servers, url, buckets, prefix: prefix, mode: mode)
        let want = Self.exits[prefix]![mode]!
        #expect(r.status == want, "\(server) \(prefix) \(mode): \(r.stderr)")
        #expect(r.summary["exit_code"] as? Int == Int(want))
        let status = (r.summary["pairs"] as! [[String: Any]])[0]["status"] as? String
        #expect(
          status == (want == 3 ? "unverified" : want == 0 ? "identical" : "different"), "\(server) \(prefix) \(mode)")
      }
    }
  }

  /// The proxy in front of the source counts the object bytes it forwarded.
  @Test("verify: content reads one side where recomputed ETags prove it: bytes_read agrees with what the server sent")
  func oneSideReads() throws {
    let servers = try TestServers.fromEnvironment()
    let buckets = try Self.makePair(servers.seaweed, servers)
    let proxy = try FaultProxy(upstream: servers.seaweed, rates: [:])
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let summary = dir.appendingPathComponent("s.json").path
    let r = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: proxy.url, sourceBucket: buckets.0, destinationURL: servers.seaweed,
        destinationBucket: buckets.1, output: dir.appendingPathComponent("r.txt").path)
        + [
          "--source_prefix", "m/", "--destination_prefix", "m/", "--verify", "content", "--summary", summary,
          "--num_processes", "1",
        ])
    #expect(r.status == 1, "\(r.stderr)")
    let pair = try #require(
      (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any])?[
        "pairs"] as? [[String: Any]]
    ).first!
    let size = 10 * 1024 * 1024 + 512 * 1024
    // Read from the source only: same-3v2, single-vs-multi, composite-diff-layout-same once (the
    // destination's ETag recomputed from the source's bytes comes out), change-diff-layout twice (it does
    // not: the second read recomputes the source's own ETag before the key is called different);
    // same-count-diff-first from both sides (its source parts are not cut to one size).
    let sourceBytes = proxy.counts()["object_bytes"] ?? -1
    #expect(sourceBytes == 6 * size)
    #expect(pair["bytes_read"] as? Int == sourceBytes + size, "\(pair)")
    #expect(
      pair["verified_by"] as? [String: Int] == [
        "etag": 4, "size": 1, "checksum:CRC32": 2, "checksum:CRC64NVME": 2, "etag-recomputed": 4, "content:sha256": 1,
      ])
  }

  @Test("Killed during a content check, --resume gives the report and summary of an uninterrupted run")
  func killAndResume() throws {
    let servers = try TestServers.fromEnvironment()
    let buckets = try Self.makePair(servers.seaweed, servers)
    // Every request through the proxy waits 0.3 s, and one connection reads one key at a time: the
    // kill lands in the middle of the reads.
    let proxy = try FaultProxy(upstream: servers.seaweed, rates: ["pdelay": 1.0, "delay": 0.3])
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    func args(_ url: String, _ name: String) -> [String] {
      pairArguments(
        servers: servers, sourceURL: url, sourceBucket: buckets.0, destinationURL: url, destinationBucket: buckets.1,
        output: dir.appendingPathComponent("\(name).txt").path)
        + [
          "--source_prefix", "m/", "--destination_prefix", "m/", "--verify", "content", "--content_scope", "all",
          "--summary", dir.appendingPathComponent("\(name).json").path, "--num_processes", "1", "--num_connections",
          "1", "--num_objects_report", "1", "--report_matches", "--range_listers", "1",
        ]
    }
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    let whole = try runProcess(try toolPath(), args(servers.seaweed, "whole"), environment: env)
    #expect(whole.status == 1, "\(whole.stderr)")

    let errPath = dir.appendingPathComponent("e.err").path
    let run = try GroupRun(args(proxy.url, "cut"), environment: env, stderr: errPath)
    var seen = false
    for _ in 0..<3000 {
      if ((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "").contains("Processed 4 objects") {
        seen = true
        break
      }
      usleep(10_000)
    }
    #expect(seen)
    run.killGroup()
    _ = run.wait()
    proxy.faultsOff()
    let resumed = try runProcess(try toolPath(), args(proxy.url, "cut") + ["--resume"], environment: env)
    #expect(resumed.status == 1, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("Resuming from checkpoint"))
    let cutReport = try String(contentsOfFile: dir.appendingPathComponent("cut.txt").path, encoding: .utf8)
    #expect(cutReport == (try String(contentsOfFile: dir.appendingPathComponent("whole.txt").path, encoding: .utf8)))
    #expect(cutReport.split(separator: "\n").count == Self.expected.count)
    #expect(
      try comparableSummary(dir.appendingPathComponent("cut.json").path)
        == comparableSummary(dir.appendingPathComponent("whole.json").path))
  }
}
