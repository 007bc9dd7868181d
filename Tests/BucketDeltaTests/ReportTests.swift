import Foundation
import S3
import Testing

@testable import BucketDelta

@Suite("Report lines")
struct ReportTests {
  @Test(
    "Python repr of strings",
    arguments: [
      ("abc", "'abc'"),
      ("it's", "\"it's\""),
      ("both ' and \"", "'both \\' and \"'"),
      ("tab\there", "'tab\\there'"),
      ("nl\ncr\r", "'nl\\ncr\\r'"),
      ("back\\slash", "'back\\\\slash'"),
      ("ctl\u{01}\u{7F}", "'ctl\\x01\\x7f'"),
      ("nbsp\u{A0}", "'nbsp\\xa0'"),
      ("zwsp\u{200B}bom\u{FEFF}", "'zwsp\\u200bbom\\ufeff'"),
      ("caf\u{E9} \u{65E5}\u{672C} \u{1F600}", "'caf\u{E9} \u{65E5}\u{672C} \u{1F600}'"),
      ("private\u{F0000}", "'private\\U000f0000'"),
    ])
  func pythonRepr(input: String, expected: String) {
    #expect(PythonRepr.string(input) == expected)
  }

  @Test("The three text line shapes of the tool we replace")
  func textLines() {
    let a = ListedObject(key: "file1.txt", etag: "\"abc123\"", size: 1024, lastModified: "t")
    let b = ListedObject(key: "file2.txt", etag: "def456", size: 2048, lastModified: "t")
    #expect(
      TextReport.line(
        for: Difference(key: a.key, status: .onlyInSource, fields: [], source: a, destination: nil),
        sourceBucket: "SRC", destinationBucket: "DST")
        == "Only in source bucket SRC, Differences: ['Key: file1.txt', 'ETag: abc123', 'Size: 1024 bytes']")
    #expect(
      TextReport.line(
        for: Difference(key: b.key, status: .onlyInDestination, fields: [], source: nil, destination: b),
        sourceBucket: "SRC", destinationBucket: "DST")
        == "Only in destination bucket DST, Differences: ['Key: file2.txt', 'ETag: def456', 'Size: 2048 bytes']")
    #expect(
      TextReport.line(
        for: Difference(key: "file3.txt", status: .different, fields: [.etag, .size], source: a, destination: b),
        sourceBucket: "SRC", destinationBucket: "DST")
        == "Difference in Key: file3.txt, Differences: ['ETag differs', 'Size differs']")
    #expect(
      TextReport.line(
        for: Difference(key: "two\nlines", status: .different, fields: [.size], source: a, destination: b),
        sourceBucket: "SRC", destinationBucket: "DST")
        == "Difference in Key: two\\nlines, Differences: ['Size differs']")
  }

  @Test("JSON Lines records parse back to what was seen")
  func jsonl() throws {
    let s = ListedObject(key: "k\"\\\n\u{01}é", etag: "\"e1\"", size: 5, lastModified: "2026-01-01T00:00:00Z")
    let line = JSONLReport.line(
      for: Difference(key: s.key, status: .onlyInSource, fields: [], source: s, destination: nil))
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    #expect(obj["key"] as? String == s.key)
    #expect(obj["status"] as? String == "only_in_source")
    #expect((obj["differences"] as? [Any])?.isEmpty == true)
    #expect(obj["destination"] is NSNull)
    let src = try #require(obj["source"] as? [String: Any])
    #expect(src["etag"] as? String == "e1")
    #expect(src["size"] as? Int == 5)
    #expect(src["last_modified"] as? String == "2026-01-01T00:00:00Z")
    #expect(!line.contains("\n"))
  }
}
