import Foundation
import Testing

/// A SeaweedFS pair with awkward keys (spaces, `+`, `%`, unicode, 1,024-byte keys) and planted differences.
let inventoryPair = seaweedPair("inv", bulk: 300)

/// S3 Inventory sides (`inventory`, `--source_inventory`): inventories in AWS's layout written from the real
/// buckets' listings by boto3 (`Tests/fixtures/make_inventory.py`), read from a SeaweedFS bucket or a local
/// copy, against boto3's truth.
@Suite("S3 Inventory input")
struct InventoryTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  struct Made: Decodable {
    var manifest_key: String
    var manifest_path: String?
    var created_ms: Int64
    var rows: Int
    var prefix: String
  }

  func inventory(_ bucket: String, _ extra: [String]) throws -> Made {
    let out = try runFixture(
      "make_inventory.py", ["--url", servers.seaweed, "--bucket", bucket] + extra, servers: servers)
    return try JSONDecoder().decode(Made.self, from: Data(out.utf8))
  }

  /// A one-pair manifest; `source`/`destination` are the sides' YAML mappings.
  func run(_ dir: URL, source: String, destination: String, flags: [String] = []) throws -> (
    ProcessOutput, [String: Any]?
  ) {
    let manifest = dir.appendingPathComponent("m-\(UUID().uuidString.prefix(6)).yaml").path
    try """
    version: 1
    endpoints:
      sw: { url: "\(servers.seaweed)", access_key_env: BD_T_AK, secret_key_env: BD_T_SK }
    output: { dir: "\(dir.path)/out", summary: "\(dir.path)/out/summary.json" }
    pairs:
      - name: p
        source: \(source)
        destination: \(destination)
    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    env["BD_T_AK"] = servers.accessKey
    env["BD_T_SK"] = servers.secretKey
    try? FileManager.default.removeItem(atPath: dir.path + "/out/summary.json")
    let r = try runProcess(try toolPath(), ["run", manifest] + flags, environment: env)
    let summary =
      (try? Data(contentsOf: URL(fileURLWithPath: dir.path + "/out/summary.json"))).flatMap {
        try? JSONSerialization.jsonObject(with: $0) as? [String: Any]
      }
    return (r, summary)
  }

  func pair(_ s: [String: Any]?) -> [String: Any] { (s?["pairs"] as? [[String: Any]])?.first ?? [:] }
  /// The report without the `, LastModified: [...]` every line carries with a cutoff (an inventory's
  /// creationTimestamp is one); each line must carry it.
  func report(_ dir: URL) throws -> String {
    let text = try String(contentsOfFile: dir.path + "/out/p.txt", encoding: .utf8)
    return text.split(separator: "\n").map { line -> String in
      guard let r = line.range(of: ", LastModified: [", options: .backwards) else { return "NO TIMES: " + line + "\n" }
      return String(line[..<r.lowerBound]) + "\n"
    }.joined()
  }

  /// Two seconds ahead: the fixture objects are all older than the snapshot.
  var snapshotMs: String { String(Int64((Date().timeIntervalSince1970 + 2) * 1000)) }

  @Test(
    "Inventory of the source (in a bucket, newest folder, columns reordered, rows shuffled over 3 files) vs the live destination: the truth"
  )
  func inventoryVersusLive() throws {
    let p = try inventoryPair.get()
    let invBucket = uniqueBucket("inv-store")
    let made = try inventory(
      p.source,
      [
        "--inventory-bucket", invBucket, "--files", "3", "--shuffle", "--created-ms", snapshotMs, "--columns",
        "Key, Bucket, ETag, StorageClass, Size, LastModifiedDate",
      ])
    let dir = try temporaryDirectory()
    let (r, s) = try run(
      dir,
      source: "{ endpoint: sw, bucket: \(p.source), inventory: { bucket: \(invBucket), latest: \"\(made.prefix)\" } }",
      destination: "{ endpoint: sw, bucket: \(p.destination) }")
    #expect(r.status == 1, "\(r.stderr.suffix(2000))")
    #expect(try report(dir) == p.truth.text.map { $0 + "\n" }.joined())
    #expect(pair(s)["objects_compared"] as? Int == p.truth.objects)
    // The snapshot's creationTimestamp is the cutoff.
    let created = Date(timeIntervalSince1970: TimeInterval(made.created_ms / 1000))
    let f = ISO8601DateFormatter()
    #expect(pair(s)["as_of"] as? String == f.string(from: created), "\(pair(s))")
    #expect(r.stderr.contains("S3 Inventory s3://\(invBucket)/\(made.manifest_key)"), "\(r.stderr.suffix(1500))")
    #expect(r.stderr.contains("sorted by UTF-8 bytes"), "shuffled rows are sorted")

    // The single-pair flag, with the manifest's key: the same report (the lines with their times).
    let single = dir.appendingPathComponent("single.txt").path
    let flagRun = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: p.source, destinationURL: servers.seaweed,
        destinationBucket: p.destination, output: single) + [
          "--source_inventory", "s3://\(invBucket)/\(made.manifest_key)",
        ],
      environment: ["BUCKET_DELTA_STATE_DIR": dir.appendingPathComponent("state2").path])
    #expect(flagRun.status == 1, "\(flagRun.stderr.suffix(1500))")
    #expect(
      try String(contentsOfFile: single, encoding: .utf8)
        == String(contentsOfFile: dir.path + "/out/p.txt", encoding: .utf8))
  }

  @Test("Inventory vs inventory (local copies): the truth, and no request to either bucket")
  func inventoryVersusInventory() throws {
    let p = try inventoryPair.get()
    let local = try temporaryDirectory()
    let a = try inventory(p.source, ["--local", local.path, "--files", "2", "--created-ms", snapshotMs])
    let b = try inventory(p.destination, ["--local", local.path, "--files", "4", "--created-ms", snapshotMs])
    let dir = try temporaryDirectory()
    let (r, s) = try run(
      dir, source: "{ endpoint: sw, bucket: \(p.source), inventory: \"\(a.manifest_path!)\" }",
      destination:
        "{ endpoint: sw, bucket: \(p.destination), inventory: { path: \"\((b.manifest_path! as NSString).deletingLastPathComponent)\" } }"
    )
    #expect(r.status == 1, "\(r.stderr.suffix(2000))")
    #expect(try report(dir) == p.truth.text.map { $0 + "\n" }.joined())
    #expect(pair(s)["requests"] as? Int == 0, "\(pair(s))")
  }

  @Test("Live source vs an inventory of the destination, source objects changed after the snapshot: not differences")
  func changedAfterSnapshot() throws {
    let servers = self.servers
    let s = uniqueBucket("inv-live-src")
    let d = uniqueBucket("inv-live-dst")
    let truth = try makePair(
      servers: servers, scenario: "small", sourceURL: servers.seaweed, destinationURL: servers.seaweed,
      sourceBucket: s, destinationBucket: d, extra: ["--portable"])
    let created = Int64((Date().timeIntervalSince1970 + 1) * 1000)
    let invBucket = uniqueBucket("inv-store")
    let made = try inventory(d, ["--inventory-bucket", invBucket, "--created-ms", String(created)])
    // After the snapshot: two keys overwritten and one added in the source.
    while Date().timeIntervalSince1970 * 1000 < Double(created + 1100) { usleep(50_000) }
    _ = try runFixture(
      "put_keys.py", ["--url", servers.seaweed, "--bucket", s, "plus+sign", "a0", "new after snapshot"],
      servers: servers)
    let dir = try temporaryDirectory()
    let (r, summary) = try run(
      dir, source: "{ endpoint: sw, bucket: \(s) }",
      destination:
        "{ endpoint: sw, bucket: \(d), inventory: { bucket: \(invBucket), manifest: \"\(made.manifest_key)\" } }")
    #expect(r.status == 1, "\(r.stderr.suffix(2000))")
    #expect(try report(dir) == truth.text.map { $0 + "\n" }.joined())
    #expect(pair(summary)["changed_after_cutoff"] as? Int == 3, "\(pair(summary))")
    // Without the default cutoff (as_of far in the future), they are differences.
    let (r2, s2) = try run(
      dir, source: "{ endpoint: sw, bucket: \(s) }",
      destination:
        "{ endpoint: sw, bucket: \(d), inventory: { bucket: \(invBucket), manifest: \"\(made.manifest_key)\" } }",
      flags: ["--as_of", "2099-01-01T00:00:00Z"])
    #expect(r2.status == 1)
    #expect(pair(s2)["only_in_source"] as? Int == (pair(summary)["only_in_source"] as? Int ?? 0) + 1)
    #expect(pair(s2)["different"] as? Int == (pair(summary)["different"] as? Int ?? 0) + 2)
  }

  @Test(
    "A data file with a wrong MD5, a truncated gzip, a missing column, a Parquet manifest: exit 2, naming the file",
    arguments: [
      (["--corrupt-md5"], "does not match the manifest's"), (["--truncate"], "the gzip data ends early"),
      (["--drop-column", "ETag"], "fileSchema has no ETag column"),
      (["--format", "Parquet"], "fileFormat Parquet is not read yet: configure the inventory with the CSV format"),
    ])
  func broken(flags: [String], message: String) throws {
    let p = try inventoryPair.get()
    let local = try temporaryDirectory()
    let made = try inventory(p.source, ["--local", local.path, "--created-ms", snapshotMs] + flags)
    let dir = try temporaryDirectory()
    let (r, s) = try run(
      dir, source: "{ endpoint: sw, bucket: \(p.source), inventory: \"\(made.manifest_path!)\" }",
      destination: "{ endpoint: sw, bucket: \(p.destination) }")
    #expect(r.status == 2)
    #expect(r.stderr.contains(message), "\(r.stderr.suffix(1500))")
    // The file named: the data file for its content, the manifest for its format and columns.
    let named =
      flags[0] == "--corrupt-md5" || flags[0] == "--truncate"
      ? "00000000-0000-0000-0000-000000000001.csv.gz" : "manifest.json"
    #expect(r.stderr.contains(named), "\(r.stderr.suffix(1500))")
    #expect(pair(s)["status"] as? String == "error")
  }

  @Test(
    "Sharded with an inventory side: boundaries from the inventory's keys (no listing of it), merged report equals the unsharded run"
  )
  func sharded() throws {
    let p = try inventoryPair.get()
    let local = try temporaryDirectory()
    let made = try inventory(
      p.source, ["--local", local.path, "--files", "3", "--shuffle", "--created-ms", snapshotMs])
    let dir = try temporaryDirectory()
    let manifest = dir.appendingPathComponent("m.yaml").path
    try """
    version: 1
    endpoints:
      sw: { url: "\(servers.seaweed)", access_key_env: BD_T_AK, secret_key_env: BD_T_SK }
    output: { dir: "\(dir.path)/out", summary: "\(dir.path)/out/summary.json" }
    pairs:
      - name: p
        source: { endpoint: sw, bucket: \(p.source), inventory: "\(made.manifest_path!)" }
        destination: { endpoint: sw, bucket: \(p.destination) }
    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    env["BD_T_AK"] = servers.accessKey
    env["BD_T_SK"] = servers.secretKey
    let whole = try runProcess(try toolPath(), ["run", manifest], environment: env)
    #expect(whole.status == 1, "\(whole.stderr.suffix(1500))")
    let wholeReport = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/out/p.txt"))
    try FileManager.default.moveItem(atPath: dir.path + "/out", toPath: dir.path + "/whole")
    let plan = dir.appendingPathComponent("plan.json").path
    let planned = try runProcess(
      try toolPath(), ["plan", manifest, "--shards", "3", "--output", plan], environment: env)
    #expect(planned.status == 0, "\(planned.stderr.suffix(1500))")
    let planJSON = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: plan))) as? [String: Any])
    let pairPlan = try #require((planJSON["pairs"] as? [[String: Any]])?.first)
    #expect((pairPlan["probes"] as? [String: Int])?["source"] == 0, "\(pairPlan)")
    for i in 0..<3 {
      var e = env
      e["JOB_COMPLETION_INDEX"] = String(i)
      let r = try runProcess(try toolPath(), ["run", manifest, "--plan", plan], environment: e)
      #expect(r.status == 0, "shard \(i): \(r.stderr.suffix(1500))")
    }
    let merged = try runProcess(try toolPath(), ["merge", plan, dir.path + "/out"], environment: env)
    #expect(merged.status == 1, "\(merged.stderr.suffix(1500))")
    #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/out/p.txt")) == wholeReport)
  }

  @Test("300,000 unsorted rows per side: sorted in bounded memory")
  func boundedMemory() throws {
    let local = try temporaryDirectory()
    let made = try inventory(
      "gen-src", ["--local", local.path, "--synthetic", "300000", "--files", "4", "--created-ms", snapshotMs])
    let dir = try temporaryDirectory()
    let rss = dir.appendingPathComponent("rss").path
    let manifest = dir.appendingPathComponent("m.yaml").path
    try """
    version: 1
    endpoints:
      sw: { url: "\(servers.seaweed)", access_key_env: BD_T_AK, secret_key_env: BD_T_SK }
    output: { dir: "\(dir.path)/out", summary: "\(dir.path)/out/summary.json" }
    pairs:
      - name: p
        source: { endpoint: sw, bucket: gen-src, inventory: "\(made.manifest_path!)" }
        destination: { endpoint: sw, bucket: gen-src, inventory: "\(made.manifest_path!)" }
    """.write(toFile: manifest, atomically: true, encoding: .utf8)
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    env["BD_T_AK"] = servers.accessKey
    env["BD_T_SK"] = servers.secretKey
    let started = Date()
    let r = try runProcess(
      "/usr/bin/time", ["-f", "%M", "-o", rss, try toolPath(), "run", manifest, "--log_level", "WARN"], environment: env
    )
    let seconds = Date().timeIntervalSince(started)
    #expect(r.status == 0, "\(r.stderr.suffix(1500))")
    let kb = Int(try String(contentsOfFile: rss, encoding: .utf8).split(separator: "\n").last ?? "") ?? Int.max
    // The external sort holds one run of 100,000 rows per side at a time, not 300,000.
    #expect(kb < 160_000, "peak RSS \(kb) kB")
    print("inventory 2 x 300,000 rows: peak RSS \(kb) kB, \(Int(600_000 / seconds)) rows/s")
  }
}
