import Foundation
import Testing

/// The fault-injecting proxy (Tests/fixtures/fault_proxy.py) in front of the test SeaweedFS.
final class FaultProxy {
  private let server: FixtureServer
  let url: String
  let portFile: String

  init(upstream: String, rates: [String: Double], seed: Int = 1, stripTaggingCount: String? = nil) throws {
    portFile = try temporaryDirectory().appendingPathComponent("port").path
    server = try FixtureServer(
      script: "fault_proxy.py",
      arguments: [upstream, portFile, "--seed", String(seed)] + rates.flatMap { ["--\($0.key)", String($0.value)] }
        + (stripTaggingCount.map { ["--strip-tagging-count", $0] } ?? []),
      portFile: portFile)
    url = "http://127.0.0.1:\(server.port)"
  }

  /// Stops injecting faults (requests are forwarded unchanged).
  func faultsOff() { _ = FileManager.default.createFile(atPath: portFile + ".off", contents: Data()) }

  func counts() -> [String: Int] {
    guard let d = FileManager.default.contents(atPath: portFile + ".counts"),
      let all = (try? JSONSerialization.jsonObject(with: d)) as? [String: Any]
    else { return [:] }
    return all.compactMapValues { $0 as? Int }
  }

  /// Per bucket, the ListObjectsV2 requests forwarded and the keys their answers held.
  func listed() -> [String: (requests: Int, keys: Int)] {
    guard let d = FileManager.default.contents(atPath: portFile + ".counts"),
      let all = (try? JSONSerialization.jsonObject(with: d)) as? [String: Any],
      let listed = all["listed"] as? [String: [Int]]
    else { return [:] }
    return listed.compactMapValues { $0.count == 2 ? ($0[0], $0[1]) : nil }
  }

  /// Monotonic arrival time of every request, in seconds.
  func arrivals() -> [Double] {
    ((try? String(contentsOfFile: portFile + ".times", encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
      Double($0)
    }
  }

}

@Suite("Faults between the tool and the server", .serialized)
struct FaultTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  private func args(
    _ url: String, _ pair: (truth: Truth, source: String, destination: String), report: String, deep: Bool
  ) -> [String] {
    [
      "--source_bucket_name", pair.source, "--source_endpoint_url", url,
      "--destination_bucket_name", pair.destination, "--destination_endpoint_url", url,
      "--output_file", report, "--shallow_check", deep ? "false" : "true", "--num_processes", "2",
      "--num_connections", "4", "--list_page_size", deep ? "200" : "20", "--max_attempts", "12",
    ]
  }

  private func env(_ state: URL) -> [String: String] {
    var e = ProcessInfo.processInfo.environment
    e["AWS_ACCESS_KEY_ID"] = servers.accessKey
    e["AWS_SECRET_ACCESS_KEY"] = servers.secretKey
    e["BUCKET_DELTA_STATE_DIR"] = state.path
    return e
  }

  @Test(
    "10% 503, 5% 500, 2% resets, 2% truncated bodies, 0.3% stalls, 5% delays: the same report as a clean run; retries counted",
    arguments: [false, true])
  func absorbed(deep: Bool) throws {
    let pair = try resumePair.get()
    let proxy = try FaultProxy(
      upstream: servers.seaweed,
      rates: [
        "p503": 0.10, "p500": 0.05, "preset": 0.02, "ptrunc": 0.02, "pstall": deep ? 0.002 : 0.012,
        "pdelay": deep ? 0.02 : 0.05,
      ],
      seed: deep ? 2 : 1)
    let dir = try temporaryDirectory()
    let report = dir.appendingPathComponent("r.txt").path
    let summaryPath = dir.appendingPathComponent("summary.json").path
    let r = try runProcess(
      try toolPath(),
      args(proxy.url, pair, report: report, deep: deep) + ["--request_timeout", "2", "--summary", summaryPath],
      environment: env(dir))
    #expect(r.status == 1, "stderr: \(r.stderr.suffix(2000))")
    #expect(try String(contentsOfFile: report, encoding: .utf8) == pair.truth.text.map { $0 + "\n" }.joined())
    let c = proxy.counts()
    #expect(
      (c["503"] ?? 0) > 0 && (c["500"] ?? 0) > 0 && (c["reset"] ?? 0) > 0 && (c["truncated"] ?? 0) > 0
        && (c["stall"] ?? 0) > 0 && (c["delay"] ?? 0) > 0, "\(c)")
    #expect(r.stderr.contains("Retrying in"))
    // Every injected 503, 500 and stall costs exactly one retry. A reset costs one too, unless it hit
    // a reused connection before any answer, which libcurl itself retries on a fresh connection
    // (then the proxy sees one request more than we sent). A truncated GET body costs one retry;
    // a truncated HEAD answer has no body to cut and passes.
    let summary = try JSONDecoder().decode(SummaryFile.self, from: Data(contentsOf: URL(fileURLWithPath: summaryPath)))
    let p = try #require(summary.pairs.first)
    let certain = (c["503"] ?? 0) + (c["500"] ?? 0) + (c["stall"] ?? 0)
    let resets = c["reset"] ?? 0
    #expect(
      p.retries >= certain && p.retries <= certain + resets + (c["truncated"] ?? 0),
      "summary \(p.retries) retries, proxy \(c)")
    #expect(p.throttled == c["503"], "summary \(p.throttled) throttled, proxy \(c)")
    let proxied = c["requests"] ?? 0
    #expect(p.requests <= proxied && p.requests >= proxied - resets, "summary \(p.requests) requests, proxy \(c)")
    #expect(r.stderr.contains("retries: \(p.retries), throttled: \(p.throttled)"))
    print(
      "faults absorbed (\(deep ? "deep" : "shallow")): proxy \(c); summary requests \(p.requests), retries \(p.retries), throttled \(p.throttled)"
    )
  }

  @Test(
    "max_requests_per_second: no one-second window sees more requests than the cap (coordinator and workers together)")
  func rateCap() throws {
    let s = uniqueBucket("cap-src")
    let d = uniqueBucket("cap-dst")
    _ = try makePair(
      servers: servers, scenario: "full", sourceURL: servers.seaweed, destinationURL: servers.seaweed, sourceBucket: s,
      destinationBucket: d, extra: ["--bulk", "150"])
    let proxy = try FaultProxy(upstream: servers.seaweed, rates: [:])
    let dir = try temporaryDirectory()
    let report = dir.appendingPathComponent("r.txt").path
    let cap = 80.0
    let a =
      args(proxy.url, (Truth(text: [], jsonl: [], objects: 0, differences: 0), s, d), report: report, deep: true)
      + ["--max_requests_per_second", String(cap)]
    let started = Date()
    let r = try runProcess(try toolPath(), a, environment: env(dir))
    let elapsed = Date().timeIntervalSince(started)
    #expect(r.status == 1, "\(r.stderr.suffix(1500))")
    let t = proxy.arrivals().sorted()
    #expect(t.count > 400, "\(t.count) requests")
    // Sliding one-second windows: at most the cap, plus one request per process (the coordinator
    // and 2 workers each start their first request without waiting).
    var most = 0
    var lo = 0
    for hi in t.indices {
      while t[hi] - t[lo] >= 1.0 { lo += 1 }
      most = max(most, hi - lo + 1)
    }
    #expect(most <= Int(cap) + 3, "\(most) requests in one second")
    // And the cap, not a slow server, set the pace: the run took about requests/cap seconds.
    let span = (t.last ?? 0) - (t.first ?? 0)
    #expect(span >= Double(t.count) / cap * 0.9, "\(t.count) requests in \(span) s")
    // (With 2 workers each worker may use a third of the cap: about 2/3 of it is reachable.)
    #expect(Double(t.count) / span >= cap * 0.35, "\(t.count) requests in \(span) s")
    print(
      "rate cap \(cap)/s: \(t.count) requests in \(String(format: "%.1f", span)) s (run \(String(format: "%.1f", elapsed)) s), busiest second \(most)"
    )
  }

  @Test("Faults the retries cannot absorb: exit 2, a clear message, and a checkpoint that --resume completes")
  func unabsorbable() throws {
    let pair = try resumePair.get()
    let proxy = try FaultProxy(upstream: servers.seaweed, rates: ["p503": 0.6])
    let dir = try temporaryDirectory()
    let report = dir.appendingPathComponent("r.txt").path
    let a = args(proxy.url, pair, report: report, deep: false).dropLast(2) + ["--max_attempts", "2"]
    let r = try runProcess(try toolPath(), Array(a), environment: env(dir))
    #expect(r.status == 2, "\(r.stderr.suffix(3000))")
    #expect(r.stderr.contains("HTTP 503 SlowDown"), "\(r.stderr.suffix(1500))")
    #expect(r.stderr.contains("after 2 attempts"))
    proxy.faultsOff()
    let resumed = try runProcess(try toolPath(), Array(a) + ["--resume"], environment: env(dir))
    #expect(resumed.status == 1, "\(resumed.stderr.suffix(1500))")
    #expect(try String(contentsOfFile: report, encoding: .utf8) == pair.truth.text.map { $0 + "\n" }.joined())
  }
}
