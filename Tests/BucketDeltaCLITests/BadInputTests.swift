import Foundation
import Testing

/// A canned-answer stub server (Tests/fixtures/stub_server.py), stopped when released.
final class StubServer {
  private let server: FixtureServer
  let url: String

  init(mode: String) throws {
    let portFile = try temporaryDirectory().appendingPathComponent("port").path
    server = try FixtureServer(script: "stub_server.py", arguments: [mode, portFile], portFile: portFile, quiet: false)
    url = "http://127.0.0.1:\(server.port)"
  }
}

@Suite("Bad input: one clear message, exit 2")
struct BadInputTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  private func run(_ args: [String]) throws -> ProcessOutput {
    try runProcess(try toolPath(), args)
  }

  @Test("A wrong secret key is refused by SeaweedFS (which checks signatures)")
  func wrongSecret() throws {
    let s = uniqueBucket("ws-src")
    _ = try makePair(
      servers: servers, scenario: "identical", sourceURL: servers.seaweed, destinationURL: servers.seaweed,
      sourceBucket: s, destinationBucket: s + "-d", extra: ["--bulk", "3"])
    let dir = try temporaryDirectory()
    let secret = "Wr0ngSecretDistinctive42"
    let r = try run(
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: s, destinationURL: servers.seaweed,
        destinationBucket: s + "-d", output: dir.appendingPathComponent("r.txt").path, secret: secret))
    #expect(r.status == 2)
    #expect(r.stderr.contains("SignatureDoesNotMatch"), "stderr: \(r.stderr)")
    #expect(r.stderr.contains("ListObjectsV2 on bucket '\(s)'"))
    #expect(!r.stderr.contains(secret))
    #expect(!r.stderr.contains("Fatal error"))
  }

  @Test("A missing bucket names the bucket and the endpoint")
  func missingBucket() throws {
    let dir = try temporaryDirectory()
    let r = try run(
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: "no-such-bucket-bd", destinationURL: servers.moto,
        destinationBucket: "no-such-bucket-bd", output: dir.appendingPathComponent("r.txt").path))
    #expect(r.status == 2)
    #expect(r.stderr.contains("NoSuchBucket"), "stderr: \(r.stderr)")
    #expect(r.stderr.contains("no-such-bucket-bd"))
  }

  @Test(
    "A server that answers garbage or breaks the listing protocol",
    arguments: [
      ("garbage", "invalid response"),
      ("truncated-no-token", "IsTruncated is true but there is no NextContinuationToken"),
      ("repeat-token", "continuation token repeated"), ("duplicate", "returned the key 'a' twice"),
      ("loop", "lists the same keys as an earlier page"),
    ])
  func brokenServer(mode: String, expected: String) throws {
    let stub = try StubServer(mode: mode)
    let dir = try temporaryDirectory()
    let r = try run(
      pairArguments(
        servers: servers, sourceURL: stub.url, sourceBucket: "b", destinationURL: stub.url, destinationBucket: "b",
        output: dir.appendingPathComponent("r.txt").path))
    #expect(r.status == 2)
    #expect(r.stderr.contains(expected), "stderr: \(r.stderr)")
    #expect(r.stderr.contains(stub.url))
  }

  @Test(
    "HEAD answers without an ETag or with a broken Content-Length: every key is an error, never identical",
    arguments: [("head-no-etag", "HeadObject answer has no ETag header"), ("head-bad-length", "Weird server reply")])
  func brokenHead(mode: String, expected: String) throws {
    let stub = try StubServer(mode: mode)
    let dir = try temporaryDirectory()
    let report = dir.appendingPathComponent("r.jsonl").path
    let r = try run(
      pairArguments(
        servers: servers, sourceURL: stub.url, sourceBucket: "b", destinationURL: stub.url, destinationBucket: "b",
        output: report) + [
          "--shallow_check", "false", "--num_processes", "1", "--output_format", "jsonl", "--max_attempts", "1",
        ])
    #expect(r.status == 2, "stderr: \(r.stderr.suffix(1500))")
    #expect(r.stderr.contains(expected), "stderr: \(r.stderr.suffix(1500))")
    #expect(r.stderr.contains("HeadObject on bucket 'b' key 'a' at \(stub.url)"))
    let lines = try String(contentsOfFile: report, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 2 && lines.allSatisfy { $0.contains("\"status\":\"error\"") }, "\(lines)")
  }

  @Test(
    "A listing that goes backwards across pages is listed again and sorted (the log says so); all keys are compared")
  func backwards() throws {
    let stub = try StubServer(mode: "backwards")
    let dir = try temporaryDirectory()
    let summary = dir.appendingPathComponent("s.json").path
    let r = try run(
      pairArguments(
        servers: servers, sourceURL: stub.url, sourceBucket: "b", destinationURL: stub.url, destinationBucket: "b",
        output: dir.appendingPathComponent("r.txt").path) + ["--summary", summary])
    #expect(r.status == 0, "stderr: \(r.stderr.suffix(1500))")
    #expect(r.stderr.contains("not in UTF-8 byte order"), "stderr: \(r.stderr.suffix(1500))")
    let s = try JSONDecoder().decode(SummaryFile.self, from: Data(contentsOf: URL(fileURLWithPath: summary)))
    #expect(s.pairs.first?.objects_compared == 3)
  }

  @Test(
    "A 300 MB body where a page was expected: refused with exit 2, memory stays bounded",
    arguments: [("huge", 100_000), ("huge-unannounced", 200_000)])
  func hugeBody(mode: String, limitKB: Int) throws {
    let stub = try StubServer(mode: mode)
    let dir = try temporaryDirectory()
    let rss = dir.appendingPathComponent("rss").path
    let r = try runProcess(
      "/usr/bin/time",
      ["-f", "%M", "-o", rss, try toolPath()]
        + pairArguments(
          servers: servers, sourceURL: stub.url, sourceBucket: "b", destinationURL: stub.url, destinationBucket: "b",
          output: dir.appendingPathComponent("r.txt").path) + ["--max_attempts", "1"])
    #expect(r.status == 2)
    #expect(r.stderr.contains("response body larger than 16777216 bytes"), "stderr: \(r.stderr.suffix(1500))")
    #expect(r.stderr.contains("ListObjectsV2 on bucket 'b' at \(stub.url)"))
    let kb = Int(try String(contentsOfFile: rss, encoding: .utf8).split(separator: "\n").last ?? "") ?? Int.max
    // An announced length is refused before the body arrives; an unannounced body is cut at
    // 16 MiB per listing request (4 range listers per side at once, with the buffer's growth): never 2 x 300 MB.
    #expect(kb < limitKB, "peak RSS \(kb) kB")
    print("huge body (\(mode)): peak RSS \(kb) kB")
  }

  @Test("A server that accepts and never answers: the request timeout fires, exit 2, no hang")
  func stall() throws {
    let stub = try StubServer(mode: "stall")
    let dir = try temporaryDirectory()
    let started = Date()
    let r = try run(
      pairArguments(
        servers: servers, sourceURL: stub.url, sourceBucket: "b", destinationURL: stub.url, destinationBucket: "b",
        output: dir.appendingPathComponent("r.txt").path) + ["--max_attempts", "2", "--request_timeout", "2"])
    let elapsed = Date().timeIntervalSince(started)
    #expect(r.status == 2)
    #expect(
      r.stderr.contains("Timeout was reached") || r.stderr.contains("timed out"), "stderr: \(r.stderr.suffix(1500))")
    #expect(r.stderr.contains("after 2 attempts"))
    #expect(elapsed < 30, "\(elapsed) s")
  }

  @Test("An unreachable endpoint")
  func unreachable() throws {
    let dir = try temporaryDirectory()
    let r = try run(
      pairArguments(
        servers: servers, sourceURL: "http://127.0.0.1:9", sourceBucket: "b", destinationURL: servers.moto,
        destinationBucket: "b", output: dir.appendingPathComponent("r.txt").path) + ["--max_attempts", "2"])
    #expect(r.status == 2)
    #expect(r.stderr.contains("http://127.0.0.1:9"), "stderr: \(r.stderr)")
    #expect(r.stderr.contains("connect"))
  }

  @Test("Missing and contradictory flags are all reported, before any request")
  func missingFlags() throws {
    let r = try run([
      "--source_bucket_name", "a", "--source_endpoint_url", "ftp://x", "--num_processes", "0",
      "--output_file", "/nonexistent-dir/r.txt",
    ])
    #expect(r.status == 2)
    #expect(r.stderr.contains("--source_endpoint_url: endpoint URL 'ftp://x' must start with http:// or https://"))
    #expect(r.stderr.contains("--destination_bucket_name is required"))
    #expect(r.stderr.contains("--num_processes must be between 1 and 512, got 0"))
    #expect(r.stderr.contains("directory of --output_file does not exist"))
  }

  @Test("An unknown flag is a usage error with exit 2")
  func unknownFlag() throws {
    let r = try run(["--no_such_flag", "1"])
    #expect(r.status == 2)
    #expect(r.stderr.contains("no_such_flag"))
  }

  @Test("Tuning flags are checked against the same bounds as the manifest, by compare and by run alike")
  func tuningBounds() throws {
    let dir = try temporaryDirectory()
    let manifest = dir.appendingPathComponent("m.yaml").path
    try """
    version: 1
    endpoints:
      e: { url: "http://127.0.0.1:1", access_key_env: BD_T_AK, secret_key_env: BD_T_SK }
    defaults:
      tuning: { num_processes: 100000 }
    pairs:
      - { name: p, source: { endpoint: e, bucket: a }, destination: { endpoint: e, bucket: b } }
    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    var env = ProcessInfo.processInfo.environment
    env["BD_T_AK"] = "k"
    env["BD_T_SK"] = "s"
    let fromManifest = try runProcess(try toolPath(), ["validate", manifest], environment: env)
    #expect(fromManifest.status == 2)
    #expect(fromManifest.stderr.contains("defaults.tuning.num_processes: must be between 1 and 512, got 100000"))
    let bad = [
      "--num_processes", "100000", "--list_page_size", "0", "--request_timeout", "0.5", "--range_listers", "65",
    ]
    let word = try runProcess(
      try toolPath(),
      [
        "--source_bucket_name", "a", "--source_endpoint_url", "http://127.0.0.1:1", "--destination_bucket_name", "b",
        "--destination_endpoint_url", "http://127.0.0.1:1", "--range_listers", "many",
      ], environment: env)
    #expect(word.status == 2)
    #expect(word.stderr.contains("--range_listers must be an integer or auto, got 'many'"), "\(word.stderr)")
    let compare = try runProcess(
      try toolPath(),
      [
        "--source_bucket_name", "a", "--source_endpoint_url", "http://127.0.0.1:1", "--destination_bucket_name", "b",
        "--destination_endpoint_url", "http://127.0.0.1:1", "--output_file", dir.appendingPathComponent("r").path,
      ] + bad, environment: env)
    let good = dir.appendingPathComponent("good.yaml").path
    try String(contentsOfFile: manifest, encoding: .utf8).replacingOccurrences(of: "100000", with: "4")
      .write(toFile: good, atomically: true, encoding: .utf8)
    let run = try runProcess(try toolPath(), ["run", good] + bad, environment: env)
    for r in [compare, run] {
      #expect(r.status == 2)
      #expect(r.stderr.contains("--num_processes must be between 1 and 512, got 100000"), "\(r.stderr)")
      #expect(r.stderr.contains("--list_page_size must be between 1 and 1000, got 0"))
      #expect(r.stderr.contains("--request_timeout must be between 1 and 3600, got 0.5"))
      #expect(r.stderr.contains("--range_listers must be between 1 and 64, got 65"))
    }
  }
}
