import Foundation
import Testing

/// The verification ladder against real servers: objects copied with other part sizes, single-part vs
/// multipart, with and without CRC32 checksums (full-object and composite), beside real one-byte changes,
/// made with boto3 (`Tests/fixtures/make_rechunk_pair.py`).
@Suite("Verification levels end to end")
struct VerifyEndToEndTests {
  /// A run's mode: shallow or deep, and the verify level.
  enum Mode: String, CaseIterable {
    case shallowETag, shallowChecksum, deepETag, deepChecksum
    var arguments: [String] {
      switch self {
      case .shallowETag: return ["--shallow_check", "true", "--verify", "etag"]
      case .shallowChecksum: return ["--shallow_check", "true", "--verify", "checksum"]
      case .deepETag: return ["--shallow_check", "false", "--verify", "etag"]
      // deep checks verify checksums by default
      case .deepChecksum: return ["--shallow_check", "false"]
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
    let byLayout: [Mode: (String, String)] = [
      .shallowETag: u, .shallowChecksum: ("different", "etag"), .deepETag: ("different", "etag"),
      .deepChecksum: ("different", "etag"),
    ]
    func byChecksum(_ v: (String, String)) -> [Mode: (String, String)] {
      [.shallowETag: u, .shallowChecksum: v, .deepETag: u, .deepChecksum: v]
    }
    return [
      "same-3v2": all(u),
      "single-vs-multi": all(u),
      "same-count-diff-first": all(u),
      "change-same-layout": byLayout,
      "change-diff-layout": all(u),
      "crc-full-same": byChecksum(("identical", "checksum:CRC32")),
      "crc-full-diff": byChecksum(("different", "checksum:CRC32")),
      "composite-diff-layout-same": all(u),
      "composite-same-layout-diff": byLayout,
      "small-same": all(("identical", "etag")),
      "small-diff": all(("different", "etag")),
      "size-diff": all(("different", "size")),
    ]
  }()

  /// Exit status per prefix and mode: `d/` holds only what checksums decide, `u/` only what nothing
  /// short of reading the bytes could.
  static let exits: [String: [Mode: Int32]] = [
    "m/": [.shallowETag: 1, .shallowChecksum: 1, .deepETag: 1, .deepChecksum: 1],
    "d/": [.shallowETag: 3, .shallowChecksum: 0, .deepETag: 3, .deepChecksum: 0],
    "u/": [.shallowETag: 3, .shallowChecksum: 3, .deepETag: 3, .deepChecksum: 3],
  ]

  static func makePair(_ url: String, _ servers: TestServers) throws -> (String, String) {
    let s = uniqueBucket("rechunk-src")
    let d = uniqueBucket("rechunk-dst")
    var env = ProcessInfo.processInfo.environment
    env["BD_S3_ACCESS_KEY"] = servers.accessKey
    env["BD_S3_SECRET_KEY"] = servers.secretKey
    let r = try runProcess(
      pythonPath(),
      [
        repoRoot.appendingPathComponent("Tests/fixtures/make_rechunk_pair.py").path, "--url", url,
        "--source-bucket", s, "--dest-bucket", d,
      ], environment: env)
    guard r.status == 0 else { throw HarnessError(description: "make_rechunk_pair.py failed: \(r.stderr)") }
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
      #expect(pair["verify"] as? String == (mode == .shallowETag || mode == .deepETag ? "etag" : "checksum"))
      #expect(r.summary["exit_code"] as? Int == 1)
      requests[mode] = pair["requests"] as? Int
    }
    // A shallow check at verify: checksum sends HEADs only for the keys the listings left unverified
    // (9 of 12, two HEADs each) and a ?partNumber=1 HEAD per side for the 3 with one part count.
    let extra: Int = requests[.shallowChecksum]! - requests[.shallowETag]!
    #expect(extra == 9 * 2 + 3 * 2, "\(requests)")

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
}
