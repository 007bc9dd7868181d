import Foundation
import Testing

/// The full fixture pair on SeaweedFS, created once and shared (boto3 takes seconds to fill it).
let seaweedFullPair: Result<(truth: Truth, source: String, destination: String), any Error> = Result {
  let servers = try TestServers.fromEnvironment()
  let s = uniqueBucket("full-src")
  let d = uniqueBucket("full-dst")
  let truth = try makePair(
    servers: servers, scenario: "full", sourceURL: servers.seaweed, destinationURL: servers.seaweed,
    sourceBucket: s, destinationBucket: d)
  return (truth, s, d)
}

@Suite("Shallow check end to end against real S3 servers")
struct ShallowEndToEndTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  @Test("SeaweedFS: every planted difference, awkward keys, >1000 keys, out-of-order listing")
  func seaweedTextReport() throws {
    let pair = try seaweedFullPair.get()
    let dir = try temporaryDirectory()
    let out = dir.appendingPathComponent("report.txt").path
    let r = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: pair.source, destinationURL: servers.seaweed,
        destinationBucket: pair.destination, output: out))
    #expect(r.status == 1, "stderr: \(r.stderr)")
    let report = try String(contentsOfFile: out, encoding: .utf8)
    #expect(report == pair.truth.text.map { $0 + "\n" }.joined())
    #expect(r.stderr.contains("Total objects processed: \(pair.truth.objects)"))
    #expect(r.stderr.contains("Total objects with differences: \(pair.truth.differences)"))
    // SeaweedFS lists a/b before a-c: the tool must notice and say so.
    #expect(r.stderr.contains("not in UTF-8 byte order"))
    #expect(r.stderr.contains("------Final report------"))
    #expect(!r.stderr.contains(servers.secretKey))
  }

  @Test("SeaweedFS: JSON Lines records carry both sides' values")
  func seaweedJSONLReport() throws {
    let pair = try seaweedFullPair.get()
    let dir = try temporaryDirectory()
    let out = dir.appendingPathComponent("report.jsonl").path
    let r = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: pair.source, destinationURL: servers.seaweed,
        destinationBucket: pair.destination, output: out) + ["--output_format", "jsonl"])
    #expect(r.status == 1, "stderr: \(r.stderr)")
    // every record validates against the published schema (python-jsonschema, an independent validator)
    let check = try runProcess(
      pythonPath(),
      [
        "-c",
        "import json,sys,jsonschema\ns=json.load(open(sys.argv[1]))\nfor l in open(sys.argv[2]): jsonschema.validate(json.loads(l), s)",
        repoRoot.appendingPathComponent("schemas/report-record.schema.json").path, out,
      ])
    #expect(check.status == 0, "schema validation: \(check.stderr)")
    let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
    let got = try lines.map { try JSONDecoder().decode(Truth.Record.self, from: Data($0.utf8)) }
    try #require(got.count == pair.truth.jsonl.count)
    for (g, e) in zip(got, pair.truth.jsonl) {
      #expect(Array(g.key.utf8) == Array(e.key.utf8))
      #expect(g.status == e.status)
      #expect(g.differences == e.differences)
      #expect(g.source == e.source)
      #expect(g.destination == e.destination)
    }
  }

  @Test("moto: byte-ordered listing across many small pages")
  func motoSmallPages() throws {
    let s = uniqueBucket("moto-src")
    let d = uniqueBucket("moto-dst")
    let truth = try makePair(
      servers: servers, scenario: "small", sourceURL: servers.moto, destinationURL: servers.moto, sourceBucket: s,
      destinationBucket: d)
    let dir = try temporaryDirectory()
    let out = dir.appendingPathComponent("report.txt").path
    let r = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: servers.moto, sourceBucket: s, destinationURL: servers.moto,
        destinationBucket: d, output: out) + ["--list_page_size", "7", "--log_level", "DEBUG", "--range_listers", "4"])
    #expect(r.status == 1, "stderr: \(r.stderr)")
    #expect(try String(contentsOfFile: out, encoding: .utf8) == truth.text.map { $0 + "\n" }.joined())
    #expect(!r.stderr.contains("not in UTF-8 byte order"))
    #expect(!r.stderr.contains("does not join up"))
    #expect(r.stderr.contains("Listing mode of the source bucket: key ranges, 4 listed at once"))
    #expect(r.stderr.components(separatedBy: "Listed page").count > 5)
    // The default (auto): decides per side after its first pages (moto's timings vary with the other side's
    // load, so either choice may come; the unit tests pin the rule) and gives the same report.
    let auto = dir.appendingPathComponent("auto.txt").path
    let a = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: servers.moto, sourceBucket: s, destinationURL: servers.moto,
        destinationBucket: d, output: auto) + ["--list_page_size", "7"])
    #expect(a.status == 1, "stderr: \(a.stderr)")
    #expect(try String(contentsOfFile: auto, encoding: .utf8) == truth.text.map { $0 + "\n" }.joined())
    #expect(a.stderr.contains("Listing mode of the source bucket: one stream, widened to 4 key ranges if"))
    for side in ["source", "destination"] {
      #expect(a.stderr.contains("Listing of the \(side) bucket: "), "\(a.stderr)")
    }
  }

  @Test("Source on SeaweedFS, destination on moto")
  func crossServer() throws {
    let s = uniqueBucket("x-src")
    let d = uniqueBucket("x-dst")
    let truth = try makePair(
      servers: servers, scenario: "small", sourceURL: servers.seaweed, destinationURL: servers.moto,
      sourceBucket: s, destinationBucket: d, extra: ["--portable"])
    let dir = try temporaryDirectory()
    let out = dir.appendingPathComponent("report.txt").path
    let r = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: s, destinationURL: servers.moto,
        destinationBucket: d, output: out))
    #expect(r.status == 1, "stderr: \(r.stderr)")
    #expect(try String(contentsOfFile: out, encoding: .utf8) == truth.text.map { $0 + "\n" }.joined())
  }

  @Test("Different prefixes on the two sides are compared after removing them")
  func prefixes() throws {
    let s = uniqueBucket("pfx-src")
    let d = uniqueBucket("pfx-dst")
    let truth = try makePair(
      servers: servers, scenario: "small", sourceURL: servers.seaweed, destinationURL: servers.seaweed,
      sourceBucket: s, destinationBucket: d, extra: ["--source-prefix", "prod/2025/"])
    let dir = try temporaryDirectory()
    let out = dir.appendingPathComponent("report.txt").path
    let r = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: s, destinationURL: servers.seaweed,
        destinationBucket: d, output: out) + ["--source_prefix", "prod/2025/"])
    #expect(r.status == 1, "stderr: \(r.stderr)")
    #expect(try String(contentsOfFile: out, encoding: .utf8) == truth.text.map { $0 + "\n" }.joined())
  }

  @Test("Identical buckets: exit 0 and an empty report")
  func identical() throws {
    let s = uniqueBucket("same-src")
    let d = uniqueBucket("same-dst")
    let truth = try makePair(
      servers: servers, scenario: "identical", sourceURL: servers.seaweed, destinationURL: servers.seaweed,
      sourceBucket: s, destinationBucket: d, extra: ["--bulk", "30"])
    #expect(truth.differences == 0)
    let dir = try temporaryDirectory()
    let out = dir.appendingPathComponent("report.txt").path
    let r = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: s, destinationURL: servers.seaweed,
        destinationBucket: d, output: out))
    #expect(r.status == 0, "stderr: \(r.stderr)")
    #expect(try String(contentsOfFile: out, encoding: .utf8) == "")
    #expect(r.stderr.contains("Total objects processed: \(truth.objects)"))
  }
}
