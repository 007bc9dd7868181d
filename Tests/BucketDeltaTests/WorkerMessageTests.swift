import Foundation
import S3
import Testing

@testable import BucketDelta

@Suite("Worker result lines")
struct WorkerMessageTests {
  private func roundTrip(_ r: WorkResult) throws -> (line: [UInt8], back: WorkResult) {
    let line = try r.line(encoder: JSONEncoder())
    return (line, try WorkResult.parse(line: line, decoder: JSONDecoder()))
  }

  @Test("An identical key travels as a compact line, with its request counts and how it was verified")
  func compact() throws {
    var counts = RequestCounts()
    counts.requests = 7
    counts.retries = 3
    counts.throttled = 1
    let r = WorkResult(
      pair: 2, seq: 123_456_789, fields: [], source: nil, destination: nil, error: nil, counts: counts,
      verifiedBy: "checksum:CRC32-composite")
    let (line, back) = try roundTrip(r)
    #expect(String(decoding: line, as: UTF8.self) == "=2 123456789 7 3 1 checksum:CRC32-composite 0 0")
    #expect(back.pair == 2 && back.seq == 123_456_789 && back.counts == counts)
    #expect(back.verifiedBy == "checksum:CRC32-composite" && back.reason == nil)
    #expect(back.fields.isEmpty && back.error == nil && back.source == nil && back.destination == nil)
    // Without counts or a method, or when unverified, the line is JSON, and nothing is lost.
    let bare = try roundTrip(WorkResult(pair: 0, seq: 5, fields: [], source: nil, destination: nil, error: nil))
    #expect(bare.line.first == UInt8(ascii: "{") && bare.back.seq == 5 && bare.back.counts == nil)
    let unverified = try roundTrip(
      WorkResult(
        pair: 0, seq: 6, fields: [], source: nil, destination: nil, error: nil, counts: counts,
        reason: "multipart ETags with different part counts (6 vs 4)"))
    #expect(unverified.line.first == UInt8(ascii: "{"))
    #expect(unverified.back.reason == "multipart ETags with different part counts (6 vs 4)")
  }

  @Test("Differences, details and errors travel as JSON, whole")
  func json() throws {
    let details = try JSONDecoder().decode(
      ObjectDetails.self, from: Data(#"{"etag":"e","size":3,"metadata":{"a":"1 2"},"tags":{"t":"v"}}"#.utf8))
    let cases: [WorkResult] = [
      WorkResult(pair: 0, seq: 1, fields: [.metadata], source: details, destination: details, error: nil),
      WorkResult(pair: 1, seq: 2, fields: [], source: nil, destination: details, error: "source: HTTP 404 NotFound"),
      WorkResult(pair: 1, seq: 3, fields: [], source: details, destination: nil, error: nil),
    ]
    for r in cases {
      let (line, back) = try roundTrip(r)
      #expect(line.first == UInt8(ascii: "{"))
      #expect(back.fields == r.fields)
      #expect(back.error == r.error)
      #expect(back.source == r.source)
      #expect(back.destination == r.destination)
      #expect(back.seq == r.seq)
      #expect(back.pair == r.pair)
    }
  }

  @Test(
    "A malformed compact line is refused, not read as zeros",
    arguments: [
      "=", "=1", "=1 2", "=1 2 3", "=1 2 3 4", "=1 2 3 4 5", "=1 2 3 4 5 6", "=1 2 3 4 5 etag x", "=a 2 3 4 5 etag",
      "=1  2 3 4 5 etag", "=-1 2 3 4 5 etag", "=1 2 3 4 5 ", "= 1 2 3 4 5 etag", "=1 9999999999999999999 3 4 5 etag",
    ])
  func malformed(line: String) {
    #expect(throws: (any Error).self) { try WorkResult.parse(line: Array(line.utf8), decoder: JSONDecoder()) }
  }

  @Test("Batches: any key (spaces, newlines, +, %, Unicode, empty) comes back as sent, with its pair and seq")
  func batches() throws {
    let keys = ["plain", "a b", "line\nbreak\r", "plus+sign", "100%", "ü/😀", "", "  ", "\u{01}ctl", "a%2Bb"]
    let items = keys.enumerated().map { WorkItem(pair: $0.offset % 3, seq: 1_000_000 + $0.offset, key: $0.element) }
    let line = WorkBatch(items: items).line
    #expect(!line.contains(0x0A))
    let back = try WorkBatch.parse(line).items
    #expect(back.map(\.key) == keys)
    #expect(back.map(\.seq) == items.map(\.seq))
    #expect(back.map(\.pair) == items.map(\.pair))
    // Items with versions (versions: true): IDs of any shape, keys with '?', one side's ID absent.
    var versioned = items
    for i in versioned.indices {
      versioned[i].key += "?q"
      versioned[i].sourceVersion = i % 3 == 0 ? nil : "v?\(i)+/="
      versioned[i].destinationVersion = "null \(i)%"
    }
    let vback = try WorkBatch.parse(WorkBatch(items: versioned).line).items
    #expect(vback.map(\.key) == versioned.map(\.key))
    #expect(vback.map(\.sourceVersion) == versioned.map(\.sourceVersion))
    #expect(vback.map(\.destinationVersion) == versioned.map(\.destinationVersion))
    #expect(back.allSatisfy { $0.sourceVersion == nil && $0.destinationVersion == nil })
  }

  @Test(
    "A malformed batch line is refused",
    arguments: ["", "1 2", "1 2 k 3", "x 2 k", "1 2 %ZZ", "1 2 %FF", "1 -2 k", "1 2 k?v", "1 2 k?a?b?c", "1 2 k?%ZZ?b"])
  func malformedBatch(line: String) {
    #expect(throws: (any Error).self) { try WorkBatch.parse(Array(line.utf8)) }
  }
}
