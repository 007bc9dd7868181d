import Foundation
import S3
import Testing

@testable import BucketDelta

/// The verification ladder as a table: each row is two copies, a level and the verdict it must give.
@Suite("Verification ladder")
struct VerificationTests {
  static let md5A = "0123456789abcdef0123456789abcdef"
  static let md5B = "fedcba9876543210fedcba9876543210"
  static let mp6 = "1382d03c0123456789abcdef01234567-6"
  static let mp4 = "6b48078d0123456789abcdef01234567-4"
  static let mp4b = "aaaaaaaa0123456789abcdef01234567-4"

  typealias Copy = ContentCheck.Copy
  static func facts(
    _ sums: [String: String] = [:], type: String? = nil, part: Int64? = nil, sse: String? = nil
  ) -> ContentFacts {
    ContentFacts(etagNotMD5: sse, checksums: sums, checksumType: type, firstPartSize: part)
  }

  static let rows: [(String, Copy, Copy, VerifyLevel, ContentVerdict)] = [
    (
      "sizes differ", Copy(size: 1, etag: md5A), Copy(size: 2, etag: md5B), .etag,
      .different(by: "size", fields: [.etag, .size])
    ),
    (
      "sizes differ, same ETag", Copy(size: 1, etag: md5A), Copy(size: 2, etag: md5A), .checksum,
      .different(by: "size", fields: [.size])
    ),
    ("equal ETags", Copy(size: 5, etag: mp6), Copy(size: 5, etag: mp6), .etag, .identical(by: "etag")),
    (
      "two MD5s differ", Copy(size: 5, etag: md5A), Copy(size: 5, etag: md5B), .etag,
      .different(by: "etag", fields: [.etag])
    ),
    (
      "re-chunked", Copy(size: 5, etag: mp6), Copy(size: 5, etag: mp4), .etag,
      .unverified(reason: "multipart ETags with different part counts (6 vs 4)")
    ),
    (
      "multipart vs single-part", Copy(size: 5, etag: mp4), Copy(size: 5, etag: md5A), .etag,
      .unverified(reason: "a multipart ETag (4 parts) vs a single-part ETag")
    ),
    (
      "same part count, layout unknown", Copy(size: 5, etag: mp4), Copy(size: 5, etag: mp4b), .etag,
      .unverified(reason: "multipart ETags with 4 parts each, part sizes not known to be equal")
    ),
    (
      "same part count, equal first parts", Copy(size: 5, etag: mp4, facts: facts(part: 2)),
      Copy(size: 5, etag: mp4b, facts: facts(part: 2)), .etag, .different(by: "etag", fields: [.etag])
    ),
    (
      "same part count, different first parts", Copy(size: 5, etag: mp4, facts: facts(part: 2)),
      Copy(size: 5, etag: mp4b, facts: facts(part: 3)), .etag,
      .unverified(reason: "multipart ETags with 4 parts each, cut differently (part 1: 2 vs 3 bytes)")
    ),
    (
      "SSE-KMS ETags", Copy(size: 5, etag: md5A, facts: facts(sse: "SSE-KMS")), Copy(size: 5, etag: md5B), .etag,
      .unverified(reason: "ETags not comparable: SSE-KMS")
    ),
    (
      "checksums ignored at etag level", Copy(size: 5, etag: mp6, facts: facts(["CRC32": "x"], type: "FULL_OBJECT")),
      Copy(size: 5, etag: mp4, facts: facts(["CRC32": "x"], type: "FULL_OBJECT")), .etag,
      .unverified(reason: "multipart ETags with different part counts (6 vs 4)")
    ),
    (
      "equal full-object CRC32", Copy(size: 5, etag: mp6, facts: facts(["CRC32": "x"], type: "FULL_OBJECT")),
      Copy(size: 5, etag: mp4, facts: facts(["CRC32": "x"], type: "FULL_OBJECT")), .checksum,
      .identical(by: "checksum:CRC32")
    ),
    (
      "different full-object CRC32", Copy(size: 5, etag: mp6, facts: facts(["CRC32": "x"], type: "FULL_OBJECT")),
      Copy(size: 5, etag: mp4, facts: facts(["CRC32": "y"], type: "FULL_OBJECT")), .checksum,
      .different(by: "checksum:CRC32", fields: [.checksum])
    ),
    (
      "single-part CRC32 (untyped) vs full-object CRC32", Copy(size: 5, etag: md5A, facts: facts(["CRC32": "x"])),
      Copy(size: 5, etag: mp4, facts: facts(["CRC32": "x"], type: "FULL_OBJECT")), .checksum,
      .identical(by: "checksum:CRC32")
    ),
    (
      "strongest common algorithm decides",
      Copy(size: 5, etag: mp6, facts: facts(["CRC32": "x", "SHA256": "s"], type: "FULL_OBJECT")),
      Copy(size: 5, etag: mp4, facts: facts(["CRC32": "x", "SHA256": "t"], type: "FULL_OBJECT")), .checksum,
      .different(by: "checksum:SHA256", fields: [.checksum])
    ),
    (
      "equal composite checksums", Copy(size: 5, etag: mp4, facts: facts(["CRC32": "c-4"], type: "COMPOSITE")),
      Copy(size: 5, etag: mp4b, facts: facts(["CRC32": "c-4"], type: "COMPOSITE")), .checksum,
      .identical(by: "checksum:CRC32-composite")
    ),
    (
      "composite checksums, different layouts",
      Copy(size: 5, etag: mp6, facts: facts(["CRC32": "c-6"], type: "COMPOSITE")),
      Copy(size: 5, etag: mp4, facts: facts(["CRC32": "d-4"], type: "COMPOSITE")), .checksum,
      .unverified(
        reason:
          "multipart ETags with different part counts (6 vs 4); composite checksums with different part layouts")
    ),
    (
      "composite checksums, equal layouts", Copy(size: 5, etag: mp4, facts: facts(["CRC32": "c-4"], part: 2)),
      Copy(size: 5, etag: mp4b, facts: facts(["CRC32": "d-4"], part: 2)), .checksum,
      .different(by: "etag", fields: [.etag])
    ),
    (
      "composite vs full-object", Copy(size: 5, etag: mp6, facts: facts(["CRC32": "c-6"], type: "COMPOSITE")),
      Copy(size: 5, etag: mp4, facts: facts(["CRC32": "x"], type: "FULL_OBJECT")), .checksum,
      .unverified(
        reason:
          "multipart ETags with different part counts (6 vs 4); composite checksums with different part layouts")
    ),
    (
      "no common algorithm", Copy(size: 5, etag: mp6, facts: facts(["CRC32": "x"], type: "FULL_OBJECT")),
      Copy(size: 5, etag: mp4, facts: facts(["SHA256": "x"], type: "FULL_OBJECT")), .checksum,
      .unverified(
        reason:
          "multipart ETags with different part counts (6 vs 4); no common checksum algorithm (source: CRC32, destination: SHA256)"
      )
    ),
    (
      "no checksums", Copy(size: 5, etag: mp6, facts: facts()), Copy(size: 5, etag: mp4, facts: facts()), .checksum,
      .unverified(reason: "multipart ETags with different part counts (6 vs 4); no checksums on either side")
    ),
  ]

  @Test("Each rung decides what it can and leaves the rest unverified, with the reason", arguments: rows)
  func ladder(row: (String, Copy, Copy, VerifyLevel, ContentVerdict)) {
    let (name, s, d, level, expected) = row
    #expect(ContentCheck.decide(s, d, level: level) == expected, "\(name)")
    // The ladder is symmetric in what it decides (reasons name the sides, so only the kind is compared).
    let back = ContentCheck.decide(d, s, level: level)
    #expect(back.isUnverified == expected.isUnverified, "\(name), sides swapped")
  }

  @Test("ETag shapes: MD5, multipart with a part count, and neither")
  func shapes() {
    #expect(ETagShape(Self.md5A) == ETagShape(parts: nil, looksLikeMD5: true))
    #expect(ETagShape(Self.mp6) == ETagShape(parts: 6, looksLikeMD5: false))
    #expect(ETagShape("abc") == ETagShape(parts: nil, looksLikeMD5: false))
    #expect(ETagShape(Self.md5A + "-0").parts == nil)
    #expect(ETagShape("zz" + Self.md5A.dropFirst(2) + "-3").parts == nil)
  }

  @Test("HEAD headers: checksums by algorithm, their type, and the encryption that makes ETags not MD5s")
  func facts() {
    let sha = Data(repeating: 7, count: 32).base64EncodedString()
    let f = ContentFacts(headers: [
      "x-amz-checksum-crc32": "D5Bw9w==", "x-amz-checksum-sha256": sha + "-3", "x-amz-checksum-type": "full_object",
      "x-amz-server-side-encryption": "aws:kms", "x-amz-checksum-crc64nvme": "rU3VPA==",
    ])
    #expect(f.checksums == ["CRC32": "D5Bw9w==", "SHA256": sha + "-3"])
    // a CRC64NVME of 4 bytes (moto 5.2's multipart answer when it runs without awscrt) is not compared,
    // and is named
    #expect(f.malformed == ["CRC64NVME"])
    let other = ContentFacts(headers: ["x-amz-checksum-crc64nvme": "ZSVma/tUcR8="])
    #expect(other.checksums == ["CRC64NVME": "ZSVma/tUcR8="])
    #expect(
      ContentCheck.checksumGap(other, ContentFacts(headers: ["x-amz-checksum-crc64nvme": "rU3VPA=="]))
        == "malformed checksum ignored (CRC64NVME on the destination): wrong size for its algorithm")
    #expect(f.checksumType == "FULL_OBJECT")
    #expect(f.etagNotMD5 == "SSE-KMS")
    #expect(ContentFacts(headers: ["x-amz-server-side-encryption": "AES256"]).etagNotMD5 == nil)
    #expect(
      ContentFacts(headers: ["x-amz-server-side-encryption-customer-algorithm": "AES256"]).etagNotMD5 == "SSE-C")
  }
}

@Suite("ETags recomputed from streamed bytes")
struct ETagComputerTests {
  /// Expected values from Python's hashlib (the independent oracle): md5 of the part MD5s, then `-N`.
  @Test("Single-part and multipart ETags, whatever the chunks the bytes arrive in")
  func recompute() {
    let data = Array("abcdefgh".utf8)
    for chunk in 1...9 {
      func run(_ layout: PartLayout) -> String {
        let c = ETagComputer(layout)
        var i = 0
        while i < data.count {
          let piece = Array(data[i..<min(i + chunk, data.count)])
          piece.withUnsafeBytes { c.update($0) }
          i += chunk
        }
        return c.finish()
      }
      #expect(run(.single) == "e8dc4081b13434b45189a720b77b6818", "chunk \(chunk)")
      #expect(run(.parts(size: 3, count: 3)) == "aeeee0d2676cb87233c9a93915c7631a-3", "chunk \(chunk)")
      #expect(run(.parts(size: 8, count: 1)) == "0076f5a4a003c02006afccdb09310a22-1", "chunk \(chunk)")
    }
  }

  @Test("A layout is known only when part 1's size gives the ETag's part count")
  func layouts() {
    typealias Copy = ContentCheck.Copy
    let md5 = String(repeating: "a", count: 32)
    #expect(PartLayout.of(Copy(size: 8, etag: md5)) == .single)
    #expect(PartLayout.of(Copy(size: 8, etag: md5, facts: ContentFacts(etagNotMD5: "SSE-KMS"))) == nil)
    #expect(
      PartLayout.of(Copy(size: 8, etag: md5 + "-3", facts: ContentFacts(firstPartSize: 3))) == .parts(size: 3, count: 3)
    )
    // parts of 5 and 3 bytes: part 1's size would give 2 parts, as it should
    #expect(
      PartLayout.of(Copy(size: 8, etag: md5 + "-2", facts: ContentFacts(firstPartSize: 5))) == .parts(size: 5, count: 2)
    )
    // parts of 3 and 5 bytes: 3-byte parts would make 3 of them, not 2: not cut to one size
    #expect(PartLayout.of(Copy(size: 8, etag: md5 + "-2", facts: ContentFacts(firstPartSize: 3))) == nil)
    #expect(PartLayout.of(Copy(size: 8, etag: md5 + "-2")) == nil)
  }
}

extension ETagShape {
  init(parts: Int?, looksLikeMD5: Bool) {
    self.init("")
    self.parts = parts
    self.looksLikeMD5 = looksLikeMD5
  }
}
