import Foundation
import S3
import Testing

@testable import BucketDelta

private let env = ["AK": "access", "SK": "secret", "TOKEN": "tok"]

private func decode(_ text: String, environment: [String: String] = env) throws(ManifestError) -> Manifest {
  var d = ManifestDecoder(file: "m.yaml", environment: environment)
  return try d.decode(text)
}

/// The diagnostics of a manifest that must fail.
private func problems(_ text: String, environment: [String: String] = env) -> [String] {
  do {
    _ = try decode(text, environment: environment)
    Issue.record("expected the manifest to be refused")
    return []
  } catch {
    return error.diagnostics.map(\.description)
  }
}

private let minimal = """
  version: 1
  endpoints:
    a: { url: http://127.0.0.1:9000, access_key_env: AK, secret_key_env: SK }
  pairs:
    - name: p
      source: { endpoint: a, bucket: s }
      destination: { endpoint: a, bucket: d }
  """

@Suite("Manifest decoding")
struct ManifestTests {
  @Test("A minimal manifest decodes to the defaults")
  func defaults() throws {
    let m = try decode(minimal)
    #expect(m.tuning == Tuning())
    #expect(m.output.dir == "reports")
    #expect(m.output.format == .text)
    #expect(m.output.summary == "reports/summary.json")
    #expect(m.pairs.count == 1)
    #expect(m.pairs[0].check == .shallow)
    #expect(m.pairs[0].compareObjectTags)
    #expect(m.pairs[0].source.prefix == "")
    let ep = try #require(m.endpoints["a"])
    #expect(ep.region == "us-east-1")
    #expect(ep.addressing == .path)
    #expect(ep.credentials.accessKeyID == "access")
    #expect(ep.credentials.secretAccessKey == "secret")
    #expect(ep.credentials.sessionToken == nil)
  }

  @Test("Pair settings override the defaults; anchors and aliases work")
  func overrides() throws {
    let m = try decode(
      """
      version: 1
      endpoints:
        a: &ep { url: http://h:1, access_key_env: AK, secret_key_env: SK, session_token_env: TOKEN, region: eu-west-1 }
        b: *ep
      defaults: { check: deep, compare_object_tags: false, tuning: { num_processes: 3, parallel_pairs: 2 } }
      output: { dir: out, format: jsonl }
      pairs:
        - name: x
          source: { endpoint: a, bucket: s, prefix: "p/" }
          destination: { endpoint: b, bucket: d }
          check: shallow
          compare_object_tags: true
        - name: y
          source: { endpoint: a, bucket: s }
          destination: { endpoint: b, bucket: d }
      """)
    #expect(m.pairs.map(\.check) == [.shallow, .deep])
    #expect(m.pairs.map(\.compareObjectTags) == [true, false])
    #expect(m.tuning.numProcesses == 3)
    #expect(m.tuning.parallelPairs == 2)
    #expect(m.output.summary == "out/summary.json")
    #expect(m.endpoints["b"]?.region == "eu-west-1")
    #expect(m.endpoints["b"]?.credentials.sessionToken == "tok")
    #expect(m.pairs[0].source.prefix == "p/")
  }

  @Test("Verification settings: defaults by check depth, overridden per pair; a bad level names the choices")
  func verification() throws {
    let m = try decode(
      """
      version: 1
      endpoints:
        a: { url: http://h:1, access_key_env: AK, secret_key_env: SK }
      defaults: { report_matches: true, tuning: { max_content_bytes: 1000000 } }
      pairs:
        - { name: s, source: { endpoint: a, bucket: s }, destination: { endpoint: a, bucket: d } }
        - { name: d, check: deep, source: { endpoint: a, bucket: s }, destination: { endpoint: a, bucket: d } }
        - name: c
          verify: content
          content_scope: all
          report_matches: false
          source: { endpoint: a, bucket: s }
          destination: { endpoint: a, bucket: d }
      """)
    #expect(m.pairs.map(\.level) == [.etag, .checksum, .content])
    #expect(m.pairs.map(\.contentScope) == [.unverified, .unverified, .all])
    #expect(m.pairs.map(\.reportMatches) == [true, true, false])
    #expect(m.tuning.maxContentBytes == 1_000_000)
    #expect(m.tuning.rangeListers == Tuning.adaptiveRangeListers, "the default is auto")
    for (text, value) in [("auto", Tuning.adaptiveRangeListers), ("1", 1), ("8", 8)] {
      let t = try decode(
        """
        version: 1
        endpoints: { a: { url: http://h:1, access_key_env: AK, secret_key_env: SK } }
        defaults: { tuning: { range_listers: \(text) } }
        pairs: [{ name: s, source: { endpoint: a, bucket: s }, destination: { endpoint: a, bucket: d } }]
        """)
      #expect(t.tuning.rangeListers == value)
    }
    let words = problems(
      """
      version: 1
      endpoints: { a: { url: http://h:1, access_key_env: AK, secret_key_env: SK } }
      defaults: { tuning: { range_listers: many } }
      pairs: [{ name: s, source: { endpoint: a, bucket: s }, destination: { endpoint: a, bucket: d } }]
      """)
    #expect(words == ["m.yaml:3:38: error: defaults.tuning.range_listers: must be an integer or auto, got 'many'"])
    let p = problems(
      """
      version: 1
      endpoints:
        a: { url: http://h:1, access_key_env: AK, secret_key_env: SK }
      pairs:
        - { name: s, verify: md5, source: { endpoint: a, bucket: s }, destination: { endpoint: a, bucket: d } }
      """)
    #expect(p == ["m.yaml:5:24: error: pairs[0].verify: must be one of etag, checksum, content, got 'md5'"])
  }

  @Test("Every problem is reported at once, each with its line and column")
  func allErrors() {
    let p = problems(
      """
      version: 2
      endpoints:
        prod: { url: ftp://x, access_key_env: NOPE, secret_key_env: SK }
        bk: { url: http://h, access_key: AKIAINLINE, secret_key_env: SK, access_key_env: AK }
      defaults:
        check: medium
        compare_object_tags: "true"
        tuning: { num_processes: zero, colour: blue, list_page_size: 5000 }
      pairs:
        - name: a
          source: { endpoint: prod, bucket: x }
          destination: { endpoint: nowhere, bucket: y }
        - name: a
          source: { endpoint: bk, bucket: "" }
          destination: { endpoint: bk }
          extra: 1
      """)
    #expect(
      p == [
        "m.yaml:1:10: error: version: version 2 is not supported by this build (it reads version 1)",
        "m.yaml:3:16: error: endpoints.prod.url: endpoint URL 'ftp://x' must start with http:// or https://",
        "m.yaml:3:41: error: endpoints.prod.access_key_env: environment variable NOPE is not set",
        "m.yaml:4:24: error: endpoints.bk.access_key: secrets are not accepted in a manifest: name an environment variable with access_key_env",
        "m.yaml:6:10: error: defaults.check: must be one of shallow, deep, got 'medium'",
        "m.yaml:7:24: error: defaults.compare_object_tags: must be true or false, got the string \"true\"",
        "m.yaml:8:28: error: defaults.tuning.num_processes: must be an integer, got 'zero'",
        "m.yaml:8:34: error: defaults.tuning.colour: unknown key (expected one of: list_page_size, max_attempts, max_content_bytes, max_queue_size, num_connections, num_objects_report, num_processes, parallel_pairs, range_listers, request_timeout_seconds, tagging_count_sample)",
        "m.yaml:8:64: error: defaults.tuning.list_page_size: must be between 1 and 1000, got 5000",
        "m.yaml:12:30: error: pairs[0].destination.endpoint: 'nowhere' is not defined under endpoints (defined: prod, bk)",
        "m.yaml:13:11: error: pairs[1].name: 'a' is already the name of the pair at line 10",
        "m.yaml:14:37: error: pairs[1].source.bucket: must not be empty",
        "m.yaml:15:18: error: pairs[1].destination.bucket: is required",
        "m.yaml:16:5: error: pairs[1].extra: unknown key (expected one of: allow_empty, as_of, check, compare_delete_markers, compare_object_tags, content_scope, destination, exclude, extra_destination_versions, filters, ignore, include, name, report_matches, report_skipped, source, verify, versions)",
      ])
  }

  @Test(
    "Structural problems",
    arguments: [
      ("", "m.yaml: error: the manifest must be a mapping with version, endpoints and pairs"),
      ("- a\n- b\n", "m.yaml:1:1: error: the manifest must be a mapping with version, endpoints and pairs"),
      (
        "version: 1\nendpoints: [\n",
        "m.yaml:3:1: error: invalid YAML: while parsing a flow node: did not find expected node content"
      ),
      ("version: 1\n---\nversion: 1\n", "m.yaml:2:1: error: invalid YAML: only one YAML document is allowed"),
      ("endpoints: {}\npairs: []\n", "m.yaml:1:1: error: version: is required (version: 1)"),
      (
        "version: 1\nendpoints: x\npairs: x\n",
        "m.yaml:2:12: error: endpoints: must be a mapping of endpoint names, got a scalar"
      ),
      ("version: 1\nendpoints: {a: *nope}\n", "m.yaml:2:16: error: invalid YAML: unknown alias *nope"),
    ])
  func structure(text: String, expected: String) {
    #expect(problems(text).first == expected)
  }

  @Test("A secret never shows in a diagnostic")
  func secretsStayOut() {
    let p = problems(minimal.replacingOccurrences(of: "secret_key_env: SK", with: "secret_key: hunter2-secret"))
    #expect(!p.isEmpty)
    #expect(!p.joined().contains("hunter2-secret"))
  }

  @Test("Every example manifest decodes")
  func examples() throws {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("examples")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }
    #expect(files.count >= 2)
    let allEnv = Dictionary(
      uniqueKeysWithValues: (["PROD", "BK", "OLD", "NEW", "SRC", "DST", "DR"].flatMap {
        ["\($0)_ACCESS_KEY", "\($0)_SECRET_KEY"]
      } + [
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
      ]).map { ($0, "x") })
    for f in files {
      // The examples name a profile of ~/.aws/credentials and a CA bundle: stand-ins for both.
      var d = ManifestDecoder(file: f, environment: allEnv.merging(["HOME": "/home/ops"]) { a, _ in a })
      d.readFile = { path in
        path == "/home/ops/.aws/credentials"
          ? "[backup]\naws_access_key_id = AK\naws_secret_access_key = SK\n"
          : path.hasSuffix(".pem") ? "-----BEGIN CERTIFICATE-----" : nil
      }
      let m = try d.decode(try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8))
      #expect(!m.pairs.isEmpty, "\(f)")
      if f == "inventory.yaml" {
        #expect(
          m.pairs.map { [$0.source.inventory, $0.destination.inventory] } == [
            [.latest(bucket: "inventory-store", prefix: "inventories/media-prod/daily-csv/"), nil],
            [
              .manifest(
                bucket: "inventory-store", key: "inventories/archive/daily-csv/2026-12-01T01-00Z/manifest.json"),
              .latest(bucket: "dr-inventory-store", prefix: "inventories/archive-replica/daily-csv/"),
            ],
            [.latest(bucket: "inventory-store", prefix: "inventories/media-prod/daily-csv/"), nil],
          ])
      }
    }
  }

  @Test("10,000 mutated manifests: each is decoded or refused with located errors, never a crash")
  func mutations() {
    var rng = SplitMix(seed: 42)
    let base = Array(minimal.utf8)
    let alphabet = Array("{}[]:,-&*!|>'\"#%@` \n\t\u{00}ab1\\".utf8)
    var refused = 0
    for _ in 0..<10_000 {
      var b = base
      for _ in 0..<(1 + Int(rng.next() % 4)) {
        switch rng.next() % 4 {
        case 0 where !b.isEmpty: b.removeSubrange(Int(rng.next() % UInt64(b.count))..<b.count)  // truncate
        case 1 where !b.isEmpty:
          b[Int(rng.next() % UInt64(b.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
        case 2: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(b.count + 1)))
        default: if !b.isEmpty { b.remove(at: Int(rng.next() % UInt64(b.count))) }
        }
      }
      let text = String(decoding: b, as: UTF8.self)
      do {
        _ = try decode(text)
      } catch {
        refused += 1
        #expect(!error.diagnostics.isEmpty)
        for d in error.diagnostics where !d.description.hasPrefix("m.yaml") || !d.description.contains(": error: ") {
          Issue.record("badly formed diagnostic: \(d)")
        }
      }
    }
    #expect(refused > 5_000)
  }

  @Test("Live-bucket settings: as_of, report_skipped, filters in order, ignore; defaults replaced per pair")
  func liveSettings() throws {
    let m = try decode(
      """
      version: 1
      endpoints:
        a: { url: http://h:1, access_key_env: AK, secret_key_env: SK }
      defaults:
        as_of: run_start
        exclude: ["*.partial", "tmp/"]
        include: ["/data/**"]
        ignore: [content_type, metadata.owner]
      pairs:
        - { name: d, source: { endpoint: a, bucket: s }, destination: { endpoint: a, bucket: d } }
        - name: p
          as_of: "2026-12-01T01:00:00Z"
          report_skipped: true
          filters: [{ include: "/keep/**" }, { exclude: "*.bak" }]
          ignore: [tags]
          source: { endpoint: a, bucket: s }
          destination: { endpoint: a, bucket: d }
      """)
    #expect(m.pairs[0].asOf == .runStart && m.pairs[1].asOf == .instant(1_796_086_800))
    #expect(m.pairs.map(\.reportSkipped) == [false, true])
    #expect(
      m.pairs[0].filterRules.map(\.description) == ["exclude *.partial", "exclude tmp/", "include /data/**"],
      "the shorthand: all excludes, then all includes")
    #expect(m.pairs[1].filterRules.map(\.description) == ["include /keep/**", "exclude *.bak"], "replaced, in order")
    #expect(m.pairs[0].ignore.names == ["content_type", "metadata.owner"] && m.pairs[1].ignore.names == ["tags"])
    let p = problems(
      """
      version: 1
      endpoints:
        a: { url: http://h:1, access_key_env: AK, secret_key_env: SK }
      defaults: { as_of: yesterday, ignore: [colour] }
      pairs:
        - name: x
          filters: [{ include: "/[ab" }, { exclude: a, include: b }]
          exclude: [c]
          source: { endpoint: a, bucket: s }
          destination: { endpoint: a, bucket: d }
      """)
    #expect(p.contains { $0.hasPrefix("m.yaml:4:20: error: defaults.as_of: must be an RFC 3339 instant with a zone") })
    #expect(
      p.contains { $0.hasPrefix("m.yaml:4:39: error: defaults.ignore: unknown field 'colour' (expected one of:") })
    #expect(p.contains("m.yaml:7:14: error: pairs[0].filters: give either filters or include/exclude, not both"))
    #expect(p.contains("m.yaml:7:36: error: pairs[0].filters[1]: must hold one of include or exclude, not both"))
    #expect(p.contains("m.yaml:7:14: error: pairs[0].filters: pattern '/[ab' has '[' without ']'"), "\(p)")
  }

  @Test("The schema's pair and defaults settings are the decoder's table")
  func pairSettingsMatchSchema() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("schemas/manifest.schema.json")
    let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    let props = schema["properties"] as! [String: Any]
    let pairs = ((props["pairs"] as! [String: Any])["items"] as! [String: Any])["properties"] as! [String: Any]
    let defaults = (props["defaults"] as! [String: Any])["properties"] as! [String: Any]
    let table = Set(ManifestDecoder.pairSettings.map(\.key))
    #expect(Set(pairs.keys).subtracting(["name", "source", "destination"]) == table)
    #expect(Set(defaults.keys).subtracting(["tuning"]) == table)
  }
}

/// A small deterministic generator for the mutation test.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

@Suite("Manifest: inventory sides")
struct InventoryManifestTests {
  func decode(_ inventory: String) -> Result<Manifest, ManifestError> {
    var d = ManifestDecoder(file: "m.yaml", environment: ["AK": "a", "SK": "s"])
    d.readFile = { _ in nil }
    return Result {
      try d.decode(
        """
        version: 1
        endpoints:
          e: { url: "http://127.0.0.1:9000", access_key_env: AK, secret_key_env: SK }
        pairs:
          - name: p
            source: { endpoint: e, bucket: b, inventory: \(inventory) }
            destination: { endpoint: e, bucket: c }
        """)
    }.mapError { $0 as! ManifestError }
  }

  @Test(
    "inventory: a string, bucket with manifest or latest, or path; exactly one of them; the endpoint must exist",
    arguments: [
      ("s3://inv/a/b/manifest.json", InventoryLocation.manifest(bucket: "inv", key: "a/b/manifest.json")),
      ("\"s3://inv/cfg\"", .latest(bucket: "inv", prefix: "cfg/")), ("/data/inv", .local(path: "/data/inv")),
      ("{ bucket: inv, manifest: k/manifest.json }", .manifest(bucket: "inv", key: "k/manifest.json")),
      ("{ bucket: inv, latest: p/src/cfg }", .latest(bucket: "inv", prefix: "p/src/cfg/")),
      ("{ path: /x/manifest.json }", .local(path: "/x/manifest.json")),
    ])
  func accepted(text: String, location: InventoryLocation) throws {
    let m = try decode(text).get()
    #expect(m.pairs[0].source.inventory == location)
  }

  @Test("Refused, with where and why")
  func refused() {
    for (text, message) in [
      ("{ bucket: inv }", "needs exactly one of manifest"),
      ("{ bucket: inv, manifest: a, latest: b }", "needs exactly one of manifest"),
      ("{ manifest: a/manifest.json }", "pairs[0].source.inventory.bucket: is required"),
      ("{ bucket: inv, latest: a, endpoint: nope }", "'nope' is not defined under endpoints"),
      ("{ bucket: inv, latest: a, region: x }", "unknown key"),
    ] {
      guard case .failure(let e) = decode(text) else {
        Issue.record("\(text) was accepted")
        continue
      }
      #expect(e.description.contains(message), "\(text): \(e.description)")
      #expect(e.description.contains("m.yaml:6:"), "\(text): \(e.description)")
    }
  }
}
