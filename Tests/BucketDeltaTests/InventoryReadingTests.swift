import Foundation
import Testing

@testable import BucketDelta

/// The pieces that read an S3 Inventory: form-decoded keys, CSV records fed in arbitrary chunks, gzip.
@Suite("S3 Inventory reading")
struct InventoryReadingTests {
  @Test(
    "Keys are form-decoded: + is a space, %2B a plus, %XX bytes of UTF-8; broken escapes are refused",
    arguments: [
      ("a+b", "a b"), ("a%2Bb", "a+b"), ("plus%2Bsign", "plus+sign"), ("%E6%97%A5%E6%9C%AC.txt", "日本.txt"),
      ("sp+ace%2Bplus%25pct+diff.txt", "sp ace+plus%pct diff.txt"), ("a/b%2Fc", "a/b/c"), ("%7e", "~"),
    ])
  func formDecoding(encoded: String, key: String) {
    #expect(FormDecoding.decode(Array(encoded.utf8)) == key)
  }

  @Test("Broken escapes and invalid UTF-8 are refused")
  func formDecodingRefuses() {
    for bad in ["%", "%4", "%zz", "%FF", "a%C3"] { #expect(FormDecoding.decode(Array(bad.utf8)) == nil, "\(bad)") }
  }

  @Test("CSV records: quotes, doubled quotes, commas and line ends inside quotes, CRLF; any chunking gives the same")
  func csv() throws {
    let text = "\"a\",\"b,c\",\"d\"\"e\"\r\n\"x\ny\",,plain\n\"\",\"last\""
    let expected = [["a", "b,c", "d\"e"], ["x\ny", "", "plain"], ["", "last"]]
    let bytes = Array(text.utf8)
    for chunk in [1, 2, 3, 5, 7, bytes.count] {
      var parser = CSVRecords()
      var got: [[String]] = []
      var i = 0
      while i < bytes.count {
        try parser.feed(bytes[i..<min(bytes.count, i + chunk)]) {
          got.append($0.map { String(decoding: $0, as: UTF8.self) })
        }
        i += chunk
      }
      #expect(try parser.finish { got.append($0.map { String(decoding: $0, as: UTF8.self) }) })
      #expect(got == expected, "chunks of \(chunk)")
    }
    var open = CSVRecords()
    try open.feed(Array("\"unclosed,".utf8)[...]) { _ in }
    #expect(try open.finish { _ in } == false)
  }

  /// `gzip -c` of `text`, written to a temporary file.
  func gzipped(_ parts: [String]) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bd-gz-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var whole = Data()
    for (i, text) in parts.enumerated() {
      let plain = dir.appendingPathComponent("p\(i)")
      try text.write(to: plain, atomically: true, encoding: .utf8)
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/bin/gzip")
      p.arguments = ["-c", "-n", plain.path]
      let out = Pipe()
      p.standardOutput = out
      try p.run()
      let data = out.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      whole += data
    }
    let path = dir.appendingPathComponent("f.gz").path
    try whole.write(to: URL(fileURLWithPath: path))
    return path
  }

  func readAll(_ path: String) throws -> String {
    let r = try GzipReader(path: path, name: "f.gz")
    var out: [UInt8] = []
    while true {
      let chunk = try r.read()
      if chunk.isEmpty { break }
      out += chunk
    }
    return String(decoding: out, as: UTF8.self)
  }

  @Test("gzip: one member of 1 MB, several members back to back; a truncated file and garbage are refused")
  func gzip() throws {
    let big = String(repeating: "\"bucket\",\"key+with+spaces\",\"123\"\n", count: 30_000)
    #expect(try readAll(try gzipped([big])) == big)
    #expect(try readAll(try gzipped(["one\n", "two\n", "three\n"])) == "one\ntwo\nthree\n")
    let path = try gzipped([big])
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
    #expect(throws: InventoryError.self) { try readAll(path) }
    try Data("not gzip at all".utf8).write(to: URL(fileURLWithPath: path))
    #expect(throws: InventoryError.self) { try readAll(path) }
  }

  @Test("Inventory locations: s3:// manifests, configuration prefixes (newest folder), local paths")
  func locations() {
    #expect(
      InventoryLocation.parse("s3://inv/p/src/cfg/2026-12-01T01-00Z/manifest.json")
        == .manifest(bucket: "inv", key: "p/src/cfg/2026-12-01T01-00Z/manifest.json"))
    #expect(InventoryLocation.parse("s3://inv/p/src/cfg") == .latest(bucket: "inv", prefix: "p/src/cfg/"))
    #expect(InventoryLocation.parse("s3://inv/") == .latest(bucket: "inv", prefix: ""))
    #expect(InventoryLocation.parse("/data/inv/manifest.json") == .local(path: "/data/inv/manifest.json"))
    #expect(InventoryLocation.parse("s3:///x") == nil)
    #expect(InventorySnapshot.isDated("2026-12-01T01-00Z/"))
    #expect(!InventorySnapshot.isDated("data/"))
    #expect(!InventorySnapshot.isDated("hive/"))
  }

  @Test("manifest.json: CSV with Bucket, Key, Size and ETag is read; ORC, Parquet and missing columns are refused")
  func manifest() throws {
    func json(format: String = "CSV", schema: String = "Bucket, Key, Size, LastModifiedDate, ETag") -> [UInt8] {
      Array(
        """
        {"sourceBucket": "src", "destinationBucket": "arn:aws:s3:::inv", "version": "2016-11-30",
         "creationTimestamp": "1764550800000", "fileFormat": "\(format)", "fileSchema": "\(schema)",
         "files": [{"key": "p/src/c/data/a.csv.gz", "size": 10, "MD5checksum": "00"}]}
        """.utf8)
    }
    let m = try InventoryManifest.decode(json(), name: "m.json")
    #expect(m.columns == ["Bucket", "Key", "Size", "LastModifiedDate", "ETag"])
    #expect(m.createdEpochSeconds == 1_764_550_800)
    for format in ["Parquet", "ORC"] {
      #expect {
        try InventoryManifest.decode(json(format: format), name: "m.json")
      } throws: {
        "\($0)".contains("m.json: fileFormat \(format) is not read yet: configure the inventory with the CSV format")
      }
    }
    #expect {
      try InventoryManifest.decode(json(schema: "Bucket, Key, Size"), name: "m.json")
    } throws: { "\($0)".contains("fileSchema has no ETag column") }
  }
}
