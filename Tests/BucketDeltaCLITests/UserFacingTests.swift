import Foundation
import Testing

/// Runs `check_ci_outputs.py` (junitparser, prometheus_client) on a JUnit file and a metrics file.
struct CIView: Decodable {
  struct Case: Decodable {
    var result: String
    var text: String
  }
  var problems: [String]
  var cases: [String: Case]
  var metrics: [String: Double]

  static func read(junit: String, metrics: String) throws -> CIView {
    let r = try runProcess(
      pythonPath(), [repoRoot.appendingPathComponent("Tests/fixtures/check_ci_outputs.py").path, junit, metrics])
    guard r.status == 0 else { throw HarnessError(description: "check_ci_outputs.py: \(r.stderr)") }
    return try JSONDecoder().decode(CIView.self, from: Data(r.stdout.utf8))
  }
}

@Suite("What users expect around the core: CI outputs, credentials, progress", .serialized)
struct UserFacingTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  private func env(_ dir: URL, _ extra: [String: String?] = [:]) -> [String: String] {
    var e = ProcessInfo.processInfo.environment
    for k in [
      "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE",
    ] {
      e[k] = nil
    }
    e["HOME"] = dir.path  // no ~/.aws/credentials unless a test writes one
    e["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    for (k, v) in extra { e[k] = v }
    return e
  }

  @Test("JUnit and Prometheus files: a passed, a failed (with its first differences) and an errored pair")
  func ciOutputs() throws {
    let same = (uniqueBucket("ci-same-s"), uniqueBucket("ci-same-d"))
    let diff = (uniqueBucket("ci-diff-s"), uniqueBucket("ci-diff-d"))
    _ = try makePair(
      servers: servers, scenario: "identical", sourceURL: servers.seaweed, destinationURL: servers.seaweed,
      sourceBucket: same.0, destinationBucket: same.1, extra: ["--bulk", "5"])
    let truth = try makePair(
      servers: servers, scenario: "full", sourceURL: servers.seaweed, destinationURL: servers.seaweed,
      sourceBucket: diff.0,
      destinationBucket: diff.1, extra: ["--bulk", "5"])
    let dir = try temporaryDirectory()
    let manifest = dir.appendingPathComponent("m.yaml").path
    let junit = dir.appendingPathComponent("junit.xml").path
    let metrics = dir.appendingPathComponent("bucket_delta.prom").path
    try """
    version: 1
    endpoints:
      sw:  { url: "\(servers.seaweed)", access_key_env: BD_T_AK, secret_key_env: BD_T_SK }
      bad: { url: "\(servers.seaweed)", access_key_env: BD_T_AK, secret_key_env: BD_T_BAD }
    output: { dir: "\(dir.path)/reports", junit: "\(junit)" }
    pairs:
      - { name: same, source: { endpoint: sw, bucket: \(same.0) }, destination: { endpoint: sw, bucket: \(same.1) } }
      - { name: diffs, source: { endpoint: sw, bucket: \(diff.0) }, destination: { endpoint: sw, bucket: \(diff.1) } }
      - { name: broken, source: { endpoint: bad, bucket: \(same.0) }, destination: { endpoint: sw, bucket: \(same.1) } }
    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    let r = try runProcess(
      try toolPath(), ["run", manifest, "--metrics-file", metrics, "--max_attempts", "1"],
      environment: env(dir, ["BD_T_AK": servers.accessKey, "BD_T_SK": servers.secretKey, "BD_T_BAD": "wrong-secret"]))
    #expect(r.status == 2, "\(r.stderr.suffix(1500))")
    let view = try CIView.read(junit: junit, metrics: metrics)
    #expect(view.problems.isEmpty, "\(view.problems)")
    #expect(view.cases["same"]?.result == "passed")
    #expect(view.cases["diffs"]?.result == "failed")
    #expect(view.cases["broken"]?.result == "error")
    let failure = view.cases["diffs"]?.text ?? ""
    #expect(failure.contains(truth.text[0]), "\(failure)")
    #expect(failure.contains("\(truth.objects) objects compared"))
    #expect(view.cases["broken"]?.text.contains("SignatureDoesNotMatch") == true)

    let summary = try JSONDecoder().decode(
      SummaryFile.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir.path)/reports/summary.json")))
    let d = try #require(summary.pairs.first { $0.name == "diffs" })
    #expect(view.metrics["bucket_delta_objects_compared{pair=diffs}"] == Double(truth.objects))
    #expect(view.metrics["bucket_delta_differences{kind=only_in_source,pair=diffs}"] == Double(d.only_in_source))
    #expect(
      view.metrics["bucket_delta_differences{kind=only_in_destination,pair=diffs}"] == Double(d.only_in_destination))
    #expect(view.metrics["bucket_delta_differences{kind=different,pair=diffs}"] == Double(d.different))
    #expect(d.only_in_source + d.only_in_destination + d.different == truth.differences)
    #expect(view.metrics["bucket_delta_pair_status{pair=broken,status=error}"] == 1)
    #expect(view.metrics["bucket_delta_pair_status{pair=same,status=identical}"] == 1)
    #expect(view.metrics["bucket_delta_exit_code{}"] == 2)
    let now = Date().timeIntervalSince1970
    #expect(abs((view.metrics["bucket_delta_last_success_timestamp_seconds{pair=same}"] ?? 0) - now) < 120)
    #expect(view.metrics["bucket_delta_last_success_timestamp_seconds{pair=broken}"] == nil)
    #expect((view.metrics["bucket_delta_duration_seconds{pair=diffs}"] ?? -1) >= 0)
  }

  @Test("Credentials from a profile of AWS_SHARED_CREDENTIALS_FILE (SeaweedFS checks the signature), and none found")
  func profiles() throws {
    let pair = try resumePair.get()
    let dir = try temporaryDirectory()
    let creds = dir.appendingPathComponent("credentials").path
    try """
    [good]
    aws_access_key_id = \(servers.accessKey)
    aws_secret_access_key = \(servers.secretKey)
    [bad]
    aws_access_key_id = \(servers.accessKey)
    aws_secret_access_key = not-the-secret
    """.write(toFile: creds, atomically: true, encoding: .utf8)
    let report = dir.appendingPathComponent("r.txt").path
    func args(_ profile: String?) -> [String] {
      [
        "--source_bucket_name", pair.source, "--source_endpoint_url", servers.seaweed, "--destination_bucket_name",
        pair.destination,
        "--destination_endpoint_url", servers.seaweed, "--output_file", report, "--max_attempts", "1",
      ]
        + (profile.map { ["--source_profile", $0, "--destination_profile", $0] } ?? [])
    }
    let good = try runProcess(
      try toolPath(), args("good"), environment: env(dir, ["AWS_SHARED_CREDENTIALS_FILE": creds]))
    #expect(good.status == 1, "\(good.stderr.suffix(1500))")
    #expect(try String(contentsOfFile: report, encoding: .utf8) == pair.truth.text.map { $0 + "\n" }.joined())
    let bad = try runProcess(try toolPath(), args("bad"), environment: env(dir, ["AWS_SHARED_CREDENTIALS_FILE": creds]))
    #expect(bad.status == 2)
    #expect(bad.stderr.contains("SignatureDoesNotMatch"))
    #expect(!bad.stderr.contains("not-the-secret"))
    // AWS_PROFILE picks the profile when nothing else is named.
    let viaEnv = try runProcess(
      try toolPath(), args(nil), environment: env(dir, ["AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_PROFILE": "good"]))
    #expect(viaEnv.status == 1, "\(viaEnv.stderr.suffix(1500))")
    let none = try runProcess(try toolPath(), args(nil), environment: env(dir))
    #expect(none.status == 2)
    #expect(none.stderr.contains("credentials for the source: no credentials found"), "\(none.stderr)")
    #expect(none.stderr.contains("\(dir.path)/.aws/credentials (no such file)"))

    // A manifest endpoint naming the profile.
    let manifest = dir.appendingPathComponent("m.yaml").path
    try """
    version: 1
    endpoints: { sw: { url: "\(servers.seaweed)", profile: good } }
    output: { dir: "\(dir.path)/reports" }
    pairs: [ { name: p, source: { endpoint: sw, bucket: \(pair.source) }, destination: { endpoint: sw, bucket: \(pair.destination) } } ]
    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    let m = try runProcess(
      try toolPath(), ["run", manifest], environment: env(dir, ["AWS_SHARED_CREDENTIALS_FILE": creds]))
    #expect(m.status == 1, "\(m.stderr.suffix(1500))")
  }

  @Test("A secret on the command line works but is warned about")
  func secretFlagWarning() throws {
    let pair = try resumePair.get()
    let dir = try temporaryDirectory()
    let r = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: pair.source, destinationURL: servers.seaweed,
        destinationBucket: pair.destination, output: dir.appendingPathComponent("r.txt").path),
      environment: env(dir))
    #expect(r.status == 1)
    #expect(
      r.stderr.contains("A secret key was given on the command line, where other users of this machine can read it"))
  }

  /// Runs the tool on a pseudo-terminal; returns its exit status and everything it wrote.
  private func onTerminal(_ args: [String], environment: [String: String]) throws -> (Int32, String) {
    let out = try temporaryDirectory().appendingPathComponent("pty.out").path
    let r = try runProcess(
      pythonPath(),
      [repoRoot.appendingPathComponent("Tests/fixtures/pty_run.py").path, out, "120", try toolPath()] + args,
      environment: environment)
    return (r.status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
  }

  @Test("Progress: a live block on a terminal (with an ETA once the last run's count is known), log lines off it")
  func progress() throws {
    let pair = try resumePair.get()
    let dir = try temporaryDirectory()
    let report = dir.appendingPathComponent("r.txt").path
    let args = [
      "--source_bucket_name", pair.source, "--source_endpoint_url", servers.seaweed, "--destination_bucket_name",
      pair.destination, "--destination_endpoint_url", servers.seaweed, "--output_file", report, "--shallow_check",
      "false",
      "--num_processes", "2", "--num_connections", "4",
    ]
    let e = env(
      dir, ["AWS_ACCESS_KEY_ID": servers.accessKey, "AWS_SECRET_ACCESS_KEY": servers.secretKey, "TERM": "xterm"])
    let (status1, first) = try onTerminal(args, environment: e)
    #expect(status1 == 1)
    #expect(first.contains("\u{1B}[J"), "no redraw sequence on the terminal")
    #expect(
      first.range(
        of: #"compared [0-9,]+, [0-9,]+ differences, [0-9,]+ obj/s, listed [0-9,]+\+? \| [0-9,]+\+?, elapsed"#,
        options: .regularExpression) != nil, "\(first.suffix(800))")
    // The second run knows the first run's object count: a percentage and an ETA from the start.
    let (status2, second) = try onTerminal(args, environment: e)
    #expect(status2 == 1)
    #expect(
      second.range(of: #"[0-9]+%, ETA [0-9]+:[0-9]{2}:[0-9]{2}"#, options: .regularExpression) != nil,
      "\(second.suffix(800))")
    // Log lines still arrive whole, above the block.
    #expect(second.contains("] - Total objects processed: \(pair.truth.objects)"))
    // --no-progress on a terminal: no control sequences.
    let (_, quiet) = try onTerminal(args + ["--no-progress"], environment: e)
    #expect(!quiet.contains("\u{1B}["))
    // Off a terminal: the periodic log lines, no carriage-return spam; --progress forces the block.
    let piped = try runProcess(try toolPath(), args, environment: e)
    #expect(piped.status == 1)
    #expect(!piped.stderr.contains("\r") && !piped.stderr.contains("\u{1B}"))
    #expect(piped.stderr.contains("] - Processed 1000 objects in "))
    let forced = try runProcess(try toolPath(), args + ["--progress"], environment: e)
    #expect(forced.stderr.contains("\u{1B}[J"))
  }
}
