import Foundation
import Testing

/// Runs a Python snippet with boto3 against `url` as the admin of the test servers; `args` follow the URL
/// in sys.argv (the snippet gets `c`, the client, and `json`).
func boto3Admin(_ servers: TestServers, url: String, _ code: String, _ args: [String]) throws {
  var env = ProcessInfo.processInfo.environment
  env["BOTO_EXPERIMENTAL__NO_EMPTY_CONTINUE"] = "true"
  let prelude =
    "import boto3, json, sys; c = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1'); a = sys.argv[4:]\n"
  let r = try runProcess(
    pythonPath(), ["-c", prelude + code, url, servers.accessKey, servers.secretKey] + args, environment: env)
  guard r.status == 0 else { throw HarnessError(description: "boto3 snippet failed: \(r.stderr)") }
}

/// The second SeaweedFS identity (Read and List only), whose rights bucket policies narrow.
struct ReaderCredentials {
  let access: String
  let secret: String
  static func fromEnvironment() throws -> ReaderCredentials {
    let env = ProcessInfo.processInfo.environment
    guard let a = env["BD_S3_READER_ACCESS_KEY"], let s = env["BD_S3_READER_SECRET_KEY"] else {
      throw HarnessError(description: "BD_S3_READER_ACCESS_KEY is not set: run the suite with `make test`")
    }
    return ReaderCredentials(access: a, secret: s)
  }
}

@Suite("Field trial: permissions", .serialized)
struct PermissionTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  @Test(
    "A destination denied an operation by bucket policy: one message naming the permission, a few log lines, exit 2; --resume completes once it is granted",
    arguments: [("s3:GetObjectTagging", "GetObjectTagging"), ("s3:GetObject", "HeadObject")])
  func denied(permission: String, operation: String) throws {
    let reader = try ReaderCredentials.fromEnvironment()
    let s = uniqueBucket("deny-src")
    let d = uniqueBucket("deny-dst")
    let truth = try makePair(
      servers: servers, scenario: "ordered", sourceURL: servers.seaweed, destinationURL: servers.seaweed,
      sourceBucket: s,
      destinationBucket: d, extra: ["--bulk", "150"])
    let policy =
      "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"arn:aws:iam::000000000000:user/reader\"},\"Action\":\"\(permission)\",\"Resource\":\"arn:aws:s3:::\(d)/*\"}]}"
    try boto3Admin(servers, url: servers.seaweed, "c.put_bucket_policy(Bucket=a[0], Policy=a[1])", [d, policy])
    let dir = try temporaryDirectory()
    let out = dir.appendingPathComponent("report.txt").path
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    let args = [
      "--source_bucket_name", s, "--source_endpoint_url", servers.seaweed, "--source_access_key", servers.accessKey,
      "--source_secret_key", servers.secretKey, "--destination_bucket_name", d, "--destination_endpoint_url",
      servers.seaweed,
      "--destination_access_key", reader.access, "--destination_secret_key", reader.secret, "--output_file", out,
      "--shallow_check", "false", "--num_processes", "2", "--num_connections", "2", "--num_objects_report", "20",
    ]
    let r = try runProcess(try toolPath(), args, environment: env)
    #expect(r.status == 2, "\(r.stderr.suffix(2000))")
    let errors = r.stderr.split(separator: "\n").filter { $0.contains(" - ERROR] - ") }
    #expect(errors.count <= 8, "\(errors.count) ERROR lines:\n\(errors.joined(separator: "\n"))")
    #expect(r.stderr.components(separatedBy: "Deep check failed for key").count - 1 <= 3)
    let stop = try #require(errors.first { $0.contains("did not complete") }, "\(r.stderr.suffix(2000))")
    #expect(stop.contains("the destination credentials may not \(operation) in bucket '\(d)'"), "\(stop)")
    #expect(stop.contains("Grant \(permission) "), "\(stop)")
    #expect(stop.contains("--resume"))
    #expect(stop.contains("compare_object_tags: false") == (operation == "GetObjectTagging"), "\(stop)")
    #expect(!r.stderr.contains("lack s3:ListBucket/s3:GetObject"))
    let objects = r.stderr.components(separatedBy: "Total objects processed: ").last.flatMap {
      Int($0.prefix { $0.isNumber })
    }
    #expect((objects ?? Int.max) < truth.objects / 2, "stopped early: \(objects ?? -1) of \(truth.objects)")

    try boto3Admin(servers, url: servers.seaweed, "c.delete_bucket_policy(Bucket=a[0])", [d])
    Thread.sleep(forTimeInterval: 1)  // SeaweedFS applies policy changes asynchronously
    let resumed = try runProcess(try toolPath(), args + ["--resume"], environment: env)
    #expect(resumed.status == (truth.text.isEmpty ? 0 : 1), "\(resumed.stderr.suffix(2000))")
    #expect(resumed.stderr.contains("Resuming from checkpoint"))
    #expect(try String(contentsOfFile: out, encoding: .utf8) == truth.text.map { $0 + "\n" }.joined())
    #expect(resumed.stderr.contains("Total objects processed: \(truth.objects)"))
  }
}

/// Reads the environment of a process from /proc (NUL-separated NAME=VALUE).
func processEnvironment(_ pid: Int32) -> [String] {
  guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [] }
  return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
}

@Suite("Field trial: silent passes and rough edges")
struct RoughEdgeTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  private func env(_ dir: URL) -> [String: String] {
    var e = ProcessInfo.processInfo.environment
    e["AWS_ACCESS_KEY_ID"] = servers.accessKey
    e["AWS_SECRET_ACCESS_KEY"] = servers.secretKey
    e["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    return e
  }

  private func args(_ s: String, _ d: String, url: String, output: String) -> [String] {
    [
      "--source_bucket_name", s, "--source_endpoint_url", url, "--destination_bucket_name", d,
      "--destination_endpoint_url", url, "--output_file", output,
    ]
  }

  @Test(
    "Two empty listings: a warning naming both, status empty, exit 2; with --allow_empty exit 0 (shallow and deep)",
    arguments: [false, true])
  func emptyListings(deep: Bool) throws {
    let s = uniqueBucket("empty-src")
    let d = uniqueBucket("empty-dst")
    try boto3Admin(servers, url: servers.seaweed, "[c.create_bucket(Bucket=b) for b in a]", [s, d])
    let dir = try temporaryDirectory()
    let summaryPath = dir.appendingPathComponent("summary.json").path
    let base =
      args(s, d, url: servers.seaweed, output: dir.appendingPathComponent("r.txt").path)
      + ["--summary", summaryPath, "--shallow_check", deep ? "false" : "true", "--num_processes", "1"]
    let r = try runProcess(try toolPath(), base, environment: env(dir))
    #expect(r.status == 2, "\(r.stderr.suffix(1500))")
    #expect(
      r.stderr.contains(
        " - WARNING] - both listings are empty: nothing was compared (source \(s)/ at \(servers.seaweed), destination \(d)/ at \(servers.seaweed))"
      ), "\(r.stderr)")
    #expect(r.stderr.contains("set allow_empty: true for the pair (--allow_empty)"))
    var summary =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as! [String: Any]
    var pair = (summary["pairs"] as! [[String: Any]])[0]
    #expect(pair["status"] as? String == "empty")
    #expect(summary["status"] as? String == "error")
    #expect(summary["exit_code"] as? Int == 2)
    #expect(try validateAgainstSchema(summaryPath, schema: "summary.schema.json").status == 0)

    let allowed = try runProcess(try toolPath(), base + ["--allow_empty"], environment: env(dir))
    #expect(allowed.status == 0, "\(allowed.stderr.suffix(1500))")
    #expect(allowed.stderr.contains("both listings are empty"))
    summary =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as! [String: Any]
    pair = (summary["pairs"] as! [[String: Any]])[0]
    #expect(pair["status"] as? String == "empty")
    #expect(pair["error"] == nil)
    #expect(summary["status"] as? String == "empty")
    #expect(try validateAgainstSchema(summaryPath, schema: "summary.schema.json").status == 0)
  }

  @Test("A prefix without a trailing '/' that matches longer names: kept, but named in the log and the summary")
  func prefixWithoutSlash() throws {
    let s = uniqueBucket("pfx-src")
    let d = uniqueBucket("pfx-dst")
    try boto3Admin(
      servers, url: servers.moto,
      "[c.create_bucket(Bucket=b) for b in a]\nfor b in a:\n  [c.put_object(Bucket=b, Key=k, Body=b'x') for k in ('photos/a.jpg', 'photos-old/c.jpg', 'photos-older/d.jpg')]",
      [s, d])
    let dir = try temporaryDirectory()
    let summaryPath = dir.appendingPathComponent("summary.json").path
    let r = try runProcess(
      try toolPath(),
      args(s, d, url: servers.moto, output: dir.appendingPathComponent("r.txt").path)
        + ["--source_prefix", "photos", "--destination_prefix", "photos/", "--summary", summaryPath],
      environment: env(dir))
    // the source compares '/a.jpg', '-old/c.jpg', '-older/d.jpg'; the destination only 'a.jpg'
    #expect(r.status == 1, "\(r.stderr.suffix(1500))")
    let warning =
      "the source prefix 'photos' does not end in '/' and also matches keys that only start with it, such as 'photos-old/c.jpg' (compared as '-old/c.jpg'); add a trailing '/' to compare only what is under 'photos/'"
    #expect(r.stderr.components(separatedBy: " - WARNING] - \(warning)").count == 2, "\(r.stderr)")
    #expect(!r.stderr.contains("the destination prefix"))
    let summary =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as! [String: Any]
    let pair = (summary["pairs"] as! [[String: Any]])[0]
    #expect(pair["warnings"] as? [String] == [warning])
    #expect(try validateAgainstSchema(summaryPath, schema: "summary.schema.json").status == 0)
  }

  @Test(
    "--output_file - writes the report to standard output and the logs to standard error; --log_level ERROR prints no INFO line"
  )
  func reportOnStandardOutput() throws {
    let s = uniqueBucket("out-src")
    let d = uniqueBucket("out-dst")
    let truth = try makePair(
      servers: servers, scenario: "small", sourceURL: servers.moto, destinationURL: servers.moto, sourceBucket: s,
      destinationBucket: d)
    let dir = try temporaryDirectory()
    let cwdDash = FileManager.default.currentDirectoryPath + "/-"
    let existed = FileManager.default.fileExists(atPath: cwdDash)
    let r = try runProcess(try toolPath(), args(s, d, url: servers.moto, output: "-"), environment: env(dir))
    #expect(r.status == 1, "\(r.stderr.suffix(1500))")
    #expect(r.stdout == truth.text.map { $0 + "\n" }.joined())
    #expect(r.stderr.contains("Total objects processed: \(truth.objects)"))
    #expect(existed || !FileManager.default.fileExists(atPath: cwdDash), "a file named '-' was created")
    let resumed = try runProcess(
      try toolPath(), args(s, d, url: servers.moto, output: "-") + ["--resume"], environment: env(dir))
    #expect(resumed.status == 2)
    #expect(resumed.stderr.contains("--resume needs a report file"))

    let quiet = try runProcess(
      try toolPath(),
      args(s, d, url: servers.moto, output: dir.appendingPathComponent("q.txt").path) + ["--log_level", "ERROR"],
      environment: env(dir))
    #expect(quiet.status == 1)
    #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
  }

  @Test(
    "A run that fails before comparing leaves no report; tries with other report paths leave one checkpoint per pair")
  func failedRunsLeaveNoDebris() throws {
    let dir = try temporaryDirectory()
    let missing = uniqueBucket("no-such")
    for i in 0..<4 {
      let report = dir.appendingPathComponent("r\(i).txt").path
      let r = try runProcess(
        try toolPath(), args(missing, missing, url: servers.seaweed, output: report) + ["--max_attempts", "1"],
        environment: env(dir))
      #expect(r.status == 2)
      #expect(r.stderr.contains("NoSuchBucket"), "\(r.stderr.suffix(800))")
      #expect(!FileManager.default.fileExists(atPath: report), "a failed run left report \(report)")
    }
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("state").path)
    #expect(files.filter { $0.contains(".checkpoint") }.count <= 1, "\(files)")
  }

  @Test("Workers inherit neither AWS_* credentials nor the variables a manifest names for its credentials")
  func workerEnvironment() throws {
    let pair = try seaweedFullPair.get()
    let dir = try temporaryDirectory()
    let manifest = dir.appendingPathComponent("m.yaml").path
    try """
    version: 1
    endpoints:
      sw: { url: "\(servers.seaweed)", access_key_env: BD_FT_AK, secret_key_env: BD_FT_SK }
    defaults:
      check: deep
      tuning: { num_processes: 2, num_connections: 1, max_queue_size: 4, num_objects_report: 25 }
    output: { dir: "\(dir.path)/reports" }
    pairs:
      - name: env
        source:      { endpoint: sw, bucket: \(pair.source) }
        destination: { endpoint: sw, bucket: \(pair.destination) }
    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    var e = env(dir)
    e["BD_FT_AK"] = servers.accessKey
    e["BD_FT_SK"] = servers.secretKey
    e["AWS_SESSION_TOKEN"] = "Distinctive-Token-55"
    for k in e.keys where k.hasPrefix("BD_S3_") { e[k] = nil }  // the harness's own copies of the secret
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try toolPath())
    p.arguments = ["run", manifest]
    p.environment = e
    p.standardError = FileHandle.nullDevice
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    var environments: [[String]] = []
    for _ in 0..<1000 {
      let children =
        (try? String(
          contentsOfFile: "/proc/\(p.processIdentifier)/task/\(p.processIdentifier)/children", encoding: .utf8)) ?? ""
      // Only children that are the worker program already: between fork and exec a child still holds a copy
      // of the coordinator (its environment included), which no worker code ever sees.
      let workers = children.split(separator: " ").compactMap { Int32($0) }.filter {
        ((try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8)) ?? "").contains("__worker")
      }
      environments = workers.map(processEnvironment).filter { !$0.isEmpty }
      if environments.count == 2 { break }
      usleep(10_000)
    }
    kill(p.processIdentifier, SIGINT)
    p.waitUntilExit()
    try #require(environments.count == 2, "the workers were not seen")
    for environment in environments {
      let names = environment.map { String($0.prefix { $0 != "=" }) }
      #expect(names.contains("PATH"), "the rest of the environment is passed on")
      for withheld in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "BD_FT_AK", "BD_FT_SK"] {
        #expect(!names.contains(withheld), "a worker inherited \(withheld)")
      }
      #expect(!environment.joined().contains(servers.secretKey))
    }
  }
}

@Suite("Field trial: errors that say what to do")
struct ActionableErrorTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  private func run(source: String, destination: String, bucket: String = "b", extra: [String] = []) throws
    -> ProcessOutput
  {
    let dir = try temporaryDirectory()
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    return try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: source, sourceBucket: bucket, destinationURL: destination,
        destinationBucket: bucket,
        output: dir.appendingPathComponent("r.txt").path) + ["--max_attempts", "2"] + extra, environment: env)
  }

  @Test("An endpoint answering a web page with 200: 'did not answer like S3', its Content-Type and first bytes")
  func htmlAnswer() throws {
    let stub = try StubServer(mode: "html-200")
    let r = try run(source: stub.url, destination: stub.url)
    #expect(r.status == 2)
    #expect(r.stderr.contains("the endpoint did not answer like S3"), "\(r.stderr.suffix(1500))")
    #expect(r.stderr.contains("Content-Type 'text/html'"))
    #expect(r.stderr.contains("beginning '<!DOCTYPE html> <html><head><title>MinIO Console</title>"))
    #expect(r.stderr.contains("Check that the endpoint URL is the S3 API of the server"))
  }

  @Test("A 301 PermanentRedirect names the bucket's region and the endpoint the server asks for")
  func redirect() throws {
    let stub = try StubServer(mode: "redirect")
    let r = try run(source: stub.url, destination: stub.url)
    #expect(r.status == 2)
    #expect(r.stderr.contains("HTTP 301 PermanentRedirect"), "\(r.stderr.suffix(1500))")
    #expect(
      r.stderr.contains(
        "it is in region eu-west-1 (set region: eu-west-1 for this endpoint, or --source_region/--destination_region eu-west-1)"
      ))
    #expect(r.stderr.contains("the server asks for endpoint b.s3.eu-west-1.amazonaws.com"))
    #expect(!r.stderr.contains("Retrying"), "a redirect is final")
  }

  @Test("https:// against a port that serves plain HTTP: the server does not speak TLS there")
  func tlsOnHTTPPort() throws {
    let https = servers.seaweed.replacingOccurrences(of: "http://", with: "https://")
    let r = try run(source: https, destination: servers.seaweed)
    #expect(r.status == 2)
    #expect(
      r.stderr.contains("the server probably does not speak TLS on that port; use http://"), "\(r.stderr.suffix(1500))")
  }

  @Test(
    "A bucket in the endpoint URL's path is refused before any request, pointing to the bucket setting (flags and manifest)"
  )
  func bucketInURL() throws {
    let r = try run(source: servers.seaweed + "/mybucket", destination: servers.seaweed)
    #expect(r.status == 2)
    #expect(
      r.stderr.contains(
        "--source_endpoint_url: endpoint URL '\(servers.seaweed)/mybucket' has a path ('/mybucket'): give the server only (\(servers.seaweed)) and name the bucket in the bucket setting"
      ),
      "\(r.stderr)")
    #expect(!r.stderr.contains("Listing all objects"))
    let dir = try temporaryDirectory()
    let manifest = dir.appendingPathComponent("m.yaml").path
    try """
    version: 1
    endpoints:
      sw: { url: "\(servers.seaweed)/mybucket/", access_key_env: BD_T_AK, secret_key_env: BD_T_SK }
    pairs:
      - name: p
        source:      { endpoint: sw, bucket: a }
        destination: { endpoint: sw, bucket: b }
    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    var env = ProcessInfo.processInfo.environment
    env["BD_T_AK"] = "k"
    env["BD_T_SK"] = "s"
    let v = try runProcess(try toolPath(), ["validate", manifest], environment: env)
    #expect(v.status == 2)
    #expect(v.stderr.contains("m.yaml:3:"), "\(v.stderr)")
    #expect(
      v.stderr.contains("endpoints.sw.url: endpoint URL '\(servers.seaweed)/mybucket/' has a path ('/mybucket')"),
      "\(v.stderr)")
  }

  @Test("Virtual-hosted addressing with an IP address is refused at validation; per-side flags set each side")
  func virtualWithIP() throws {
    let r = try run(source: servers.seaweed, destination: servers.moto, extra: ["--addressing_style", "virtual"])
    #expect(r.status == 2)
    #expect(
      r.stderr.contains(
        "--source_endpoint_url: endpoint URL '\(servers.seaweed)' is an IP address, but virtual-hosted addressing"),
      "\(r.stderr)")
    #expect(r.stderr.contains("--destination_endpoint_url: endpoint URL '\(servers.moto)' is an IP address"))
    #expect(!r.stderr.contains("resolve host"))
    let one = try run(
      source: servers.seaweed, destination: servers.moto, extra: ["--destination_addressing_style", "virtual"])
    #expect(one.status == 2)
    #expect(!one.stderr.contains("--source_endpoint_url"), "\(one.stderr)")
    #expect(one.stderr.contains("--destination_endpoint_url: endpoint URL '\(servers.moto)' is an IP address"))
    // the per-side flag overrides --addressing_style for its side
    let s = uniqueBucket("addr-src")
    _ = try makePair(
      servers: servers, scenario: "identical", sourceURL: servers.moto, destinationURL: servers.moto, sourceBucket: s,
      destinationBucket: s + "-d", extra: ["--bulk", "3"])
    let ok = try run(
      source: servers.moto, destination: servers.moto, bucket: s,
      extra: [
        "--addressing_style", "virtual", "--source_addressing_style", "path", "--destination_addressing_style", "path",
      ])
    #expect(ok.status == 0, "a bucket compared with itself, both sides path-style: \(ok.stderr.suffix(1500))")
  }
}
