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

@Suite("Deep-field table")
struct DeepFieldTableTests {
  @Test("The report-record schema lists exactly the table's fields, in its order, and each header field on both sides")
  func schemaFollowsTable() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let data = try Data(contentsOf: root.appendingPathComponent("schemas/report-record.schema.json"))
    let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let properties = try #require(schema["properties"] as? [String: Any])
    let differences = try #require(properties["differences"] as? [String: Any])
    let items = try #require(differences["items"] as? [String: Any])
    #expect(items["enum"] as? [String] == DeepField.all.map(\.field.rawValue))
    #expect(DifferenceField.allCases.map(\.rawValue) == DeepField.all.map(\.field.rawValue))
    let defs = try #require(schema["$defs"] as? [String: Any])
    let side = try #require((defs["side"] as? [String: Any])?["properties"] as? [String: Any])
    let headerFields = DeepField.all.compactMap { row -> String? in
      if case .header = row.source { return row.field.rawValue }
      return nil
    }
    let versionFields = ["version_id", "position", "versions", "delete_marker"]  // versions: true records
    #expect(
      Set(side.keys) == Set(["etag", "size", "last_modified", "metadata", "tags"] + headerFields + versionFields))
    // Every status a report can carry is in the schema (excluded keys are counted, never reported).
    let statuses = try #require((properties["status"] as? [String: Any])?["enum"] as? [String])
    #expect(
      Set(statuses)
        == Set(
          [
            DifferenceStatus.identical, .onlyInSource, .onlyInDestination, .different, .unverified, .error,
            .changedAfterCutoff,
          ].map(\.rawValue) + DifferenceStatus.versionStatuses.map(\.rawValue)))
  }

  @Test("Header fields compare as their rows say: instants, case, an absent legal hold as OFF")
  func comparisons() {
    func details(_ headers: [String: String]) -> ObjectDetails {
      ObjectDetails(etag: "\"e\"", size: 1, metadata: [:], tags: nil, headers: headers)
    }
    let a = details([
      "expires": "2026-11-29T00:00:00Z", "x-amz-object-lock-mode": "governance",
      "x-amz-object-lock-retain-until-date": "2026-11-29T00:00:00.000Z", "content-type": "text/plain",
    ])
    let b = details([
      "expires": "2026-11-29T00:00:00.000000000Z", "x-amz-object-lock-mode": "GOVERNANCE",
      "x-amz-object-lock-retain-until-date": "2026-11-29T00:00:00Z", "x-amz-object-lock-legal-hold": "OFF",
      "content-type": "text/plain",
    ])
    #expect(DeepCheck.compare(a, b, compareTags: true).isEmpty)
    #expect(a.etag == "e")
    var c = b
    c.headers["content-type"] = "Text/Plain"
    c.headers["x-amz-object-lock-legal-hold"] = "ON"
    #expect(DeepCheck.compare(a, c, compareTags: true) == [.contentType, .objectLockLegalHold])
    #expect(DifferenceField.objectLockLegalHold.textLabel == "ObjectLockLegalHoldStatus differs")
  }
}
