import Foundation
import Testing

/// Validates a JSON or YAML document against one of the published schemas with python-jsonschema.
func validateAgainstSchema(_ document: String, schema: String, yaml: Bool = false) throws -> ProcessOutput {
  try runProcess(
    pythonPath(),
    [
      "-c",
      "import json,sys,yaml,jsonschema\ns=json.load(open(sys.argv[1]))\nd=(yaml.safe_load if sys.argv[3]=='yaml' else json.load)(open(sys.argv[2]))\njsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker()).validate(d)",
      repoRoot.appendingPathComponent("schemas/\(schema)").path, document, yaml ? "yaml" : "json",
    ])
}

@Suite("Manifest runs end to end")
struct ManifestEndToEndTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  @Test("Three pairs across SeaweedFS and moto: identical, different (deep), wrong secret")
  func threePairs() throws {
    let same = (uniqueBucket("m-same-s"), uniqueBucket("m-same-d"))
    let diff = (uniqueBucket("m-diff-s"), uniqueBucket("m-diff-d"))
    _ = try makePair(
      servers: servers, scenario: "identical", sourceURL: servers.seaweed, destinationURL: servers.seaweed,
      sourceBucket: same.0, destinationBucket: same.1, extra: ["--bulk", "20"])
    let truth = try makePair(
      servers: servers, scenario: "small", sourceURL: servers.moto, destinationURL: servers.moto, sourceBucket: diff.0,
      destinationBucket: diff.1)
    let dir = try temporaryDirectory()
    let manifest = dir.appendingPathComponent("m.yaml").path
    try """
    version: 1
    endpoints:
      sw:     { url: "\(servers.seaweed)", access_key_env: BD_T_AK, secret_key_env: BD_T_SK }
      sw-bad: { url: "\(servers.seaweed)", access_key_env: BD_T_AK, secret_key_env: BD_T_BAD }
      moto:   { url: "\(servers.moto)", access_key_env: BD_T_AK, secret_key_env: BD_T_SK }
    defaults:
      tuning: { num_processes: 2, num_connections: 4 }
    output: { dir: "\(dir.path)/reports", summary: "\(dir.path)/reports/summary.json" }
    pairs:
      - name: same
        source:      { endpoint: sw, bucket: \(same.0) }
        destination: { endpoint: sw, bucket: \(same.1) }
      - name: diffs
        source:      { endpoint: moto, bucket: \(diff.0) }
        destination: { endpoint: moto, bucket: \(diff.1) }
        check: deep
      - name: broken
        source:      { endpoint: sw-bad, bucket: \(same.0) }
        destination: { endpoint: sw, bucket: \(same.1) }
    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    env["BD_T_AK"] = servers.accessKey
    env["BD_T_SK"] = servers.secretKey
    env["BD_T_BAD"] = "Distinctive-Wrong-Secret-77"

    let validate = try runProcess(try toolPath(), ["validate", manifest], environment: env)
    #expect(validate.status == 0, "\(validate.stderr)")
    #expect(validate.stdout.contains("3 pairs"))
    #expect(try validateAgainstSchema(manifest, schema: "manifest.schema.json", yaml: true).status == 0)

    let all = try runProcess(try toolPath(), ["run", manifest], environment: env)
    #expect(all.status == 2, "stderr: \(all.stderr)")
    let reports = dir.appendingPathComponent("reports")
    #expect(try String(contentsOfFile: reports.appendingPathComponent("same.txt").path, encoding: .utf8) == "")
    #expect(
      try String(contentsOfFile: reports.appendingPathComponent("diffs.txt").path, encoding: .utf8)
        == truth.text.map { $0 + "\n" }.joined())
    let summaryPath = reports.appendingPathComponent("summary.json").path
    let check = try validateAgainstSchema(summaryPath, schema: "summary.schema.json")
    #expect(check.status == 0, "summary schema: \(check.stderr)")
    let summary = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as? [String: Any])
    #expect(summary["exit_code"] as? Int == 2)
    #expect(summary["status"] as? String == "error")
    let pairs = try #require(summary["pairs"] as? [[String: Any]])
    #expect(pairs.map { $0["name"] as? String } == ["same", "diffs", "broken"])
    #expect(pairs.map { $0["status"] as? String } == ["identical", "different", "error"])
    #expect(pairs[1]["check"] as? String == "deep")
    #expect(pairs[1]["objects_compared"] as? Int == truth.objects)
    #expect(
      (pairs[1]["only_in_source"] as? Int ?? 0) + (pairs[1]["only_in_destination"] as? Int ?? 0)
        + (pairs[1]["different"] as? Int ?? 0) == truth.differences)
    #expect((pairs[2]["error"] as? String)?.contains("SignatureDoesNotMatch") == true)
    let summaryText = try String(contentsOfFile: summaryPath, encoding: .utf8)
    #expect(!summaryText.contains("Distinctive-Wrong-Secret-77"))
    #expect(!all.stderr.contains("Distinctive-Wrong-Secret-77"))
    #expect(!summaryText.contains(servers.secretKey))
    // files are private
    let attrs = try FileManager.default.attributesOfItem(atPath: summaryPath)
    #expect((attrs[.posixPermissions] as? Int) == 0o600)

    // --resume: finished pairs are not redone, the failed one is tried again
    let resumed = try runProcess(try toolPath(), ["run", manifest, "--resume"], environment: env)
    #expect(resumed.status == 2, "stderr: \(resumed.stderr)")
    #expect(resumed.stderr.contains("Pair same finished in an earlier run; not redone"))
    #expect(resumed.stderr.contains("Pair diffs finished in an earlier run; not redone"))
    #expect(resumed.stderr.contains("SignatureDoesNotMatch"))

    let noBroken = try runProcess(
      try toolPath(), ["run", manifest, "--pair", "same", "--pair", "diffs", "--parallel_pairs", "2"], environment: env)
    #expect(noBroken.status == 1, "stderr: \(noBroken.stderr)")
    #expect(
      try String(contentsOfFile: reports.appendingPathComponent("diffs.txt").path, encoding: .utf8)
        == truth.text.map { $0 + "\n" }.joined())
    let onlySame = try runProcess(
      try toolPath(), ["run", manifest, "--pair", "same", "--shallow_check", "false"], environment: env)
    #expect(onlySame.status == 0, "stderr: \(onlySame.stderr)")
    #expect(onlySame.stderr.contains("deep-check worker processes"))
    let unknown = try runProcess(try toolPath(), ["run", manifest, "--pair", "nope"], environment: env)
    #expect(unknown.status == 2)
    #expect(unknown.stderr.contains("--pair nope: no such pair"))
  }

  @Test("A broken manifest or an unset variable: located errors, exit 2, nothing contacted")
  func brokenManifest() throws {
    let dir = try temporaryDirectory()
    let manifest = dir.appendingPathComponent("bad.yaml").path
    try """
    version: 1
    endpoints:
      a: { url: "http://127.0.0.1:9", access_key_env: BD_UNSET_AK_1, secret_key_env: BD_UNSET_SK_1 }
    pairs:
      - name: p
        source: { endpoint: a, bucket: x }
        destination: { endpoint: b, bucket: y }
    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    for sub in ["validate", "run"] {
      let r = try runProcess(try toolPath(), [sub, manifest])
      #expect(r.status == 2)
      #expect(
        r.stderr.contains(
          "\(manifest):3:51: error: endpoints.a.access_key_env: environment variable BD_UNSET_AK_1 is not set"),
        "\(r.stderr)")
      #expect(
        r.stderr.contains("\(manifest):7:30: error: pairs[0].destination.endpoint: 'b' is not defined under endpoints"))
      #expect(!r.stderr.contains("Listing all objects"))
    }
  }

  @Test("Every example manifest validates against the published schema")
  func examplesMatchSchema() throws {
    let dir = repoRoot.appendingPathComponent("examples")
    for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) where f.hasSuffix(".yaml") {
      let r = try validateAgainstSchema(dir.appendingPathComponent(f).path, schema: "manifest.schema.json", yaml: true)
      #expect(r.status == 0, "\(f): \(r.stderr)")
    }
  }
}
