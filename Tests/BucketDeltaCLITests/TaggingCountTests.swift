import Foundation
import Testing

/// `tagging_count_header`: GetObjectTagging only where a HEAD's `x-amz-tagging-count` says there are tags,
/// counted at a recording proxy (`Tests/fixtures/fault_proxy.py`), against boto3's truth
/// (`Tests/fixtures/make_tag_pair.py`).
@Suite("Tagging-count header: fewer GetObjectTagging requests, never a silent wrong verdict")
struct TaggingCountTests {
  struct Truth: Decodable {
    var text: [String]
    var objects: Int
    var tagged: Int
  }

  static func makePair(_ url: String, _ servers: TestServers) throws -> (Truth, String, String) {
    let s = uniqueBucket("tags-src")
    let d = uniqueBucket("tags-dst")
    let out = try runFixture(
      "make_tag_pair.py", ["--url", url, "--source-bucket", s, "--dest-bucket", d], servers: servers)
    return (try JSONDecoder().decode(Truth.self, from: Data(out.utf8)), s, d)
  }

  static func run(
    _ servers: TestServers, source: String, destination: String, buckets: (String, String), dir: URL,
    _ extra: [String]
  ) throws -> (ProcessOutput, String, [String: Any]) {
    let report = dir.appendingPathComponent("r.txt").path
    let summary = dir.appendingPathComponent("s.json").path
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    let r = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: source, sourceBucket: buckets.0, destinationURL: destination,
        destinationBucket: buckets.1, output: report)
        + [
          "--shallow_check", "false", "--summary", summary, "--num_processes", "1", "--num_connections", "1",
          "--num_objects_report", "5",
        ] + extra, environment: env)
    let text = (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
    let s = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary)))) as? [String: Any]
    let pair = (s?["pairs"] as? [[String: Any]])?.first ?? [:]
    return (r, text, pair)
  }

  @Test(
    "Each mode gives the true report; trust and learned auto fetch tags only for tagged objects and the sample",
    arguments: ["seaweedfs", "moto"])
  func modes(server: String) throws {
    let servers = try TestServers.fromEnvironment()
    let url = server == "moto" ? servers.moto : servers.seaweed
    let (truth, s, d) = try Self.makePair(url, servers)
    let proxy = try FaultProxy(upstream: url, rates: [:])
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let expectedReport = truth.text.map { $0 + "\n" }.joined()
    let untagged = truth.objects - truth.tagged
    // GetObjectTagging requests (both sides) and tag fetches saved, per mode
    let expected: [(String, Int, Int)] = [
      ("ignore", 2 * truth.objects, 0),
      // tagged objects, and the first untagged one (the sample)
      ("trust", 2 * (truth.tagged + 1), 2 * (untagged - 1)),
      // the first key carries the header on both sides: learned at once, then as trust
      ("auto", 2 * (truth.tagged + 1), 2 * (untagged - 1)),
    ]
    for (mode, fetches, saved) in expected {
      let before = proxy.counts()["tagging"] ?? 0
      let (r, report, pair) = try Self.run(
        servers, source: proxy.url, destination: proxy.url, buckets: (s, d), dir: dir,
        ["--source_tagging_count_header", mode, "--destination_tagging_count_header", mode])
      #expect(r.status == 1, "\(server) \(mode): \(r.stderr)")
      #expect(report == expectedReport, "\(server) \(mode)")
      #expect((proxy.counts()["tagging"] ?? 0) - before == fetches, "\(server) \(mode)")
      #expect(pair["tag_fetches_saved"] as? Int == saved, "\(server) \(mode)")
      let perObject = pair["requests_per_object"] as? Double ?? 0
      #expect(mode == "ignore" ? perObject > 4 : perObject < 2.6, "\(server) \(mode): \(perObject)")
    }
    // compare_object_tags: false sends HEADs only
    let before = proxy.counts()["tagging"] ?? 0
    let (r, report, _) = try Self.run(
      servers, source: proxy.url, destination: proxy.url, buckets: (s, d), dir: dir,
      ["--compare_object_tags", "false"])
    #expect(r.status == 0, "\(server): \(r.stderr)")
    #expect(report.isEmpty)
    #expect((proxy.counts()["tagging"] ?? 0) == before)
  }

  @Test(
    "A server that hides the tags of some objects stops a trusting run (exit 2); a resume with ignore finishes right")
  func liar() throws {
    let servers = try TestServers.fromEnvironment()
    let (truth, s, d) = try Self.makePair(servers.seaweed, servers)
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    // The source hides the header of a-equal-1 (tags on both sides): the destination's count makes the
    // tags be fetched, and the source's header is found lying.
    let liar = try FaultProxy(upstream: servers.seaweed, rates: [:], stripTaggingCount: "a-equal-1")
    let trusting = ["--source_tagging_count_header", "trust", "--destination_tagging_count_header", "trust"]
    let (r, report, _) = try Self.run(
      servers, source: liar.url, destination: servers.seaweed, buckets: (s, d), dir: dir, trusting)
    #expect(r.status == 2, "\(r.stderr)")
    #expect(r.stderr.contains("x-amz-tagging-count that does not match"), "\(r.stderr)")
    #expect(r.stderr.contains("tagging_count_header: ignore"))
    #expect(!report.contains("a-equal-1"))
    let (resumed, after, _) = try Self.run(
      servers, source: liar.url, destination: servers.seaweed, buckets: (s, d), dir: dir,
      ["--source_tagging_count_header", "ignore", "--destination_tagging_count_header", "trust", "--resume"])
    #expect(resumed.status == 1, "\(resumed.stderr)")
    #expect(after == truth.text.map { $0 + "\n" }.joined())

    // Both sides hide the same object's tags: only the sample can tell; with every object sampled it does.
    let both = try FaultProxy(upstream: servers.seaweed, rates: [:], stripTaggingCount: "a-differ-2")
    let (sampled, _, _) = try Self.run(
      servers, source: both.url, destination: both.url, buckets: (s, d), dir: dir,
      trusting + ["--tagging_count_sample", "1"])
    #expect(sampled.status == 2, "\(sampled.stderr)")
    #expect(sampled.stderr.contains("x-amz-tagging-count that does not match"))
  }
}
