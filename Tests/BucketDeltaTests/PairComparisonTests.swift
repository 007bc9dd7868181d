import Foundation
import Logging
import S3
import Testing

@testable import BucketDelta

/// An in-memory ListObjectsV2 server: each bucket lists its keys in the order given (which may
/// not be byte order, like SeaweedFS), `max-keys` per page, with opaque continuation tokens.
final class FakeListingTransport: HTTPTransport, @unchecked Sendable {
  let buckets: [String: [(String, String, Int)]]
  init(_ buckets: [String: [(String, String, Int)]]) { self.buckets = buckets }

  func send(_ request: HTTPRequest) -> Result<HTTPResponse, TransportError> {
    let comps = URLComponents(string: request.url)!
    let bucket = String(comps.path.dropFirst())
    var q: [String: String] = [:]
    for item in comps.queryItems ?? [] { q[item.name] = item.value ?? "" }
    let all = buckets[bucket] ?? []
    let prefix = q["prefix"] ?? ""
    let items = all.filter { $0.0.hasPrefix(prefix) }
    let start = Int(q["continuation-token"].map { String($0.dropFirst(4)) } ?? "0")!
    let maxKeys = Int(q["max-keys"] ?? "1000")!
    let page = items[min(start, items.count)..<min(start + maxKeys, items.count)]
    var xml = "<ListBucketResult><EncodingType>url</EncodingType>"
    for (k, e, s) in page {
      // A one-character ETag stands for an MD5 ETag of 32 such digits.
      let e = e.count == 1 ? String(repeating: e, count: 32) : e
      xml +=
        "<Contents><Key>\(URIEncoding.encode(k, keepSlash: true))</Key><ETag>\"\(e)\"</ETag><Size>\(s)</Size></Contents>"
    }
    let more = start + maxKeys < items.count
    xml += "<IsTruncated>\(more)</IsTruncated>"
    if more { xml += "<NextContinuationToken>tok-\(start + maxKeys)</NextContinuationToken>" }
    xml += "</ListBucketResult>"
    return .success(HTTPResponse(status: 200, headers: [], body: Array(xml.utf8)))
  }
}

@Suite("Pair comparison")
struct PairComparisonTests {
  private func run(_ transport: FakeListingTransport, sortRunSize: Int = 4, sourcePrefix: String = "") throws -> (
    PairResult, String
  ) {
    let client = S3Client(
      endpoint: try S3Endpoint(url: "http://fake"), credentials: Credentials(accessKeyID: "a", secretAccessKey: "s"),
      transport: transport, logger: Logger(label: "t"))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bd-pair-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let report = dir.appendingPathComponent("r.txt").path
    var options = PairOptions()
    options.rangeListers = 1  // one stream per side: the fallback to sorting is what is tested
    options.sortRunSize = sortRunSize
    options.temporaryDirectory = dir
    let result = try PairComparison(
      source: ListingTarget(client: client, bucket: "src", prefix: sourcePrefix, pageSize: 3),
      destination: ListingTarget(client: client, bucket: "dst", pageSize: 2), reportPath: report,
      options: options, logger: Logger(label: "t")
    ).run()
    return (result, try String(contentsOfFile: report, encoding: .utf8))
  }

  @Test("In-order listings over several pages")
  func ordered() throws {
    let (r, report) = try run(
      FakeListingTransport([
        "src": [
          ("a", "1", 1), ("b", "2", 2), ("c", "3", 3), ("d", "4", 4), ("e", "5", 5),
          ("m", "0123456789abcdef0123456789abcdef-6", 7),
        ],
        "dst": [
          ("b", "2", 2), ("c", "f", 3), ("d", "4", 9), ("f", "6", 6), ("m", "fedcba9876543210fedcba9876543210-4", 7),
        ],
      ]))
    #expect(r.objectsProcessed == 7)
    #expect(r.onlyInSource == 2)
    #expect(r.onlyInDestination == 1)
    #expect(r.different == 2)
    #expect(r.unverified == 1)
    #expect(r.identical == 1)
    #expect(r.verifiedBy == ["listing": 3, "etag": 2, "size": 1])
    #expect(r.sortedSides.isEmpty)
    let e = { (c: String) in String(repeating: c, count: 32) }
    #expect(
      report == """
        Only in source bucket src, Differences: ['Key: a', 'ETag: \(e("1"))', 'Size: 1 bytes']
        Difference in Key: c, Differences: ['ETag differs']
        Difference in Key: d, Differences: ['Size differs']
        Only in source bucket src, Differences: ['Key: e', 'ETag: \(e("5"))', 'Size: 5 bytes']
        Only in destination bucket dst, Differences: ['Key: f', 'ETag: \(e("6"))', 'Size: 6 bytes']
        Unverified Key: m, Reasons: ['multipart ETags with different part counts (6 vs 4)']

        """)
  }

  @Test("A listing out of byte order (SeaweedFS style) is sorted and the verdict stays right")
  func outOfOrder() throws {
    // SeaweedFS lists "dir/" children before "dir-x" and "dir.y"
    let seaweedOrder = [
      ("a/b", "1", 1), ("a/c", "1", 1), ("a-c", "1", 1), ("a.b", "1", 1), ("a0", "1", 1), ("b", "1", 1),
    ]
    let (r, report) = try run(
      FakeListingTransport([
        "src": seaweedOrder,
        "dst": [("a-c", "1", 1), ("a.b", "1", 1), ("a/b", "1", 1), ("a0", "1", 1), ("b", "1", 1)],
      ]))
    #expect(r.sortedSides == [.source])
    #expect(r.objectsProcessed == 6)
    #expect(
      report
        == "Only in source bucket src, Differences: ['Key: a/c', 'ETag: \(String(repeating: "1", count: 32))', 'Size: 1 bytes']\n"
    )
  }

  @Test("Both sides out of order, more objects than one sorted run")
  func bothOutOfOrder() throws {
    var src: [(String, String, Int)] = []
    var dst: [(String, String, Int)] = []
    for i in 0..<20 {
      src.append(("k\(i)/x", "e", 1))
      src.append(("k\(i)-x", "e", 1))
      dst.append(("k\(i)/x", "e", 1))
      if i != 7 { dst.append(("k\(i)-x", "e", 1)) }
    }
    let (r, report) = try run(FakeListingTransport(["src": src, "dst": dst]), sortRunSize: 3)
    #expect(Set(r.sortedSides) == [.source, .destination])
    #expect(r.objectsProcessed == 40)
    #expect(
      report
        == "Only in source bucket src, Differences: ['Key: k7-x', 'ETag: \(String(repeating: "e", count: 32))', 'Size: 1 bytes']\n"
    )
  }

  @Test("A source prefix is removed before comparing")
  func prefix() throws {
    let (r, report) = try run(
      FakeListingTransport([
        "src": [("p/a", "1", 1), ("p/b", "1", 1), ("q/zz", "1", 1)],
        "dst": [("a", "1", 1), ("b", "2", 1)],
      ]), sourcePrefix: "p/")
    #expect(r.objectsProcessed == 2)
    #expect(report == "Difference in Key: b, Differences: ['ETag differs']\n")
  }
}

@Suite("Listing strategy")
struct ListingStrategyTests {
  private func error(_ kind: ListingOrderError.Kind, _ side: Side) -> ListingOrderError {
    ListingOrderError(kind: kind, side: side, previous: "b", key: "a", location: "bucket 'x'")
  }

  @Test("Key ranges -> one stream -> sorted, per side; a duplicate key or a sorted side has no fallback")
  func fallbackOrder() {
    var s = ListingStrategy(rangeListers: 4)
    #expect(s.mode(.source) == .partitioned(4, .fixed) && s.mode(.destination) == .partitioned(4, .fixed))
    #expect(s.fallBack(after: error(.rangeHandOff, .source))?.contains("listed as a single stream") == true)
    #expect(s.mode(.source) == .single && s.mode(.destination) == .partitioned(4, .fixed))
    // One stream fails a hand-off only at a shard's upper bound (RangeTail): then it is listed sorted, like
    // one out of order.
    #expect(s.fallBack(after: error(.rangeHandOff, .source))?.contains("sorted by UTF-8 bytes") == true)
    #expect(s.mode(.source) == .sorted)
    #expect(s.fallBack(after: error(.rangeHandOff, .source)) == nil, "a sorted side has no fallback")
    #expect(s.fallBack(after: error(.backwards, .source)) == nil)
    #expect(s.fallBack(after: error(.duplicate, .destination)) == nil, "a duplicate key is the server's fault")
    #expect(s.mode(.destination) == .partitioned(4, .fixed))
    // one stream from the start: out of order goes straight to sorting
    var one = ListingStrategy(rangeListers: 1)
    #expect(one.mode(.destination) == .single)
    #expect(one.fallBack(after: error(.backwards, .destination)) != nil)
    #expect(one.mode(.destination) == .sorted)
    // the default: one stream that may widen to 4 ranges, falling back like ranges
    var auto = ListingStrategy(rangeListers: Tuning().rangeListers)
    #expect(auto.mode(.source) == .partitioned(4, .adaptive))
    #expect(auto.fallBack(after: error(.rangeHandOff, .source)) != nil)
    #expect(auto.mode(.source) == .single)
  }
}
