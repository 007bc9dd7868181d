import Foundation
import Testing

/// TLS in front of the test SeaweedFS (Tests/fixtures/tls_proxy.py), with a CA made by the test.
final class TLSProxy {
  private let server: FixtureServer
  let url: String
  let dir: URL
  var caFile: String { dir.appendingPathComponent("ca.pem").path }
  var otherCAFile: String { dir.appendingPathComponent("other-ca.pem").path }

  init(upstream: String) throws {
    dir = try temporaryDirectory()
    server = try FixtureServer(
      script: "tls_proxy.py", arguments: [upstream, dir.path], portFile: dir.appendingPathComponent("port").path)
    url = "https://127.0.0.1:\(server.port)"
  }
}

@Suite("TLS: verified by default, ca_bundle, insecure_skip_tls_verify", .serialized)
struct TLSTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  /// A small pair with planted differences, shared by the cases.
  static let pair = seaweedPair("tls", bulk: 30)

  private func manifest(_ dir: URL, url: String, extra: String, deep: Bool) throws -> String {
    let (_, s, d) = try Self.pair.get()
    let path = dir.appendingPathComponent("m.yaml").path
    try """
    version: 1
    endpoints:
      secure: { url: "\(url)", access_key_env: BD_T_AK, secret_key_env: BD_T_SK\(extra) }
    defaults:
      check: \(deep ? "deep" : "shallow")
      tuning: { num_processes: 2, num_connections: 4 }
    output: { dir: "\(dir.path)/reports" }
    pairs:
      - name: p
        source:      { endpoint: secure, bucket: \(s) }
        destination: { endpoint: secure, bucket: \(d) }
    """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  private func env(_ dir: URL, _ extra: [String: String] = [:]) -> [String: String] {
    var e = ProcessInfo.processInfo.environment
    e["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    e["BD_T_AK"] = servers.accessKey
    e["BD_T_SK"] = servers.secretKey
    e["AWS_CA_BUNDLE"] = nil
    for (k, v) in extra { e[k] = v }
    return e
  }

  private func expectTruth(_ dir: URL) throws {
    let truth = try Self.pair.get().truth
    let report = try String(contentsOfFile: dir.appendingPathComponent("reports/p.txt").path, encoding: .utf8)
    #expect(report == truth.text.map { $0 + "\n" }.joined())
  }

  @Test("A certificate from an unknown CA is refused with a clear message, and so with the wrong ca_bundle")
  func untrusted() throws {
    let proxy = try TLSProxy(upstream: servers.seaweed)
    for extra in ["", ", ca_bundle: \"\(proxy.otherCAFile)\""] {
      let dir = try temporaryDirectory()
      let r = try runProcess(
        try toolPath(), ["run", try manifest(dir, url: proxy.url, extra: extra, deep: false), "--max_attempts", "2"],
        environment: env(dir))
      #expect(r.status == 2)
      #expect(r.stderr.contains("TLS certificate is not trusted"), "\(r.stderr.suffix(1500))")
      #expect(r.stderr.contains("ca_bundle"))
      #expect(r.stderr.contains(proxy.url))
    }
  }

  @Test("ca_bundle in the manifest: shallow and deep (workers too) compare over TLS")
  func caBundle() throws {
    let proxy = try TLSProxy(upstream: servers.seaweed)
    for deep in [false, true] {
      let dir = try temporaryDirectory()
      let r = try runProcess(
        try toolPath(),
        ["run", try manifest(dir, url: proxy.url, extra: ", ca_bundle: \"\(proxy.caFile)\"", deep: deep)],
        environment: env(dir))
      #expect(r.status == 1, "\(r.stderr.suffix(1500))")
      try expectTruth(dir)
      #expect(!r.stderr.contains("INSECURE"))
    }
  }

  @Test("AWS_CA_BUNDLE works for manifest runs and single-pair flags")
  func awsCABundle() throws {
    let proxy = try TLSProxy(upstream: servers.seaweed)
    let dir = try temporaryDirectory()
    let r = try runProcess(
      try toolPath(), ["run", try manifest(dir, url: proxy.url, extra: "", deep: false)],
      environment: env(dir, ["AWS_CA_BUNDLE": proxy.caFile]))
    #expect(r.status == 1, "\(r.stderr.suffix(1500))")
    try expectTruth(dir)

    let (truth, s, d) = try Self.pair.get()
    let single = try temporaryDirectory()
    let report = single.appendingPathComponent("r.txt").path
    let f = try runProcess(
      try toolPath(),
      [
        "--source_bucket_name", s, "--source_endpoint_url", proxy.url, "--destination_bucket_name", d,
        "--destination_endpoint_url", proxy.url, "--output_file", report, "--shallow_check", "false", "--num_processes",
        "2",
      ],
      environment: env(
        single,
        [
          "AWS_CA_BUNDLE": proxy.caFile, "AWS_ACCESS_KEY_ID": servers.accessKey,
          "AWS_SECRET_ACCESS_KEY": servers.secretKey,
        ]))
    #expect(f.status == 1, "\(f.stderr.suffix(1500))")
    #expect(try String(contentsOfFile: report, encoding: .utf8) == truth.text.map { $0 + "\n" }.joined())
  }

  @Test("insecure_skip_tls_verify works, with a loud warning on every run")
  func insecure() throws {
    let proxy = try TLSProxy(upstream: servers.seaweed)
    for deep in [false, true] {
      let dir = try temporaryDirectory()
      let r = try runProcess(
        try toolPath(),
        ["run", try manifest(dir, url: proxy.url, extra: ", insecure_skip_tls_verify: true", deep: deep)],
        environment: env(dir))
      #expect(r.status == 1, "\(r.stderr.suffix(1500))")
      try expectTruth(dir)
      #expect(
        r.stderr.contains("WARNING] - INSECURE: TLS certificates of endpoint secure (\(proxy.url)) are NOT verified"))
    }
  }
}
