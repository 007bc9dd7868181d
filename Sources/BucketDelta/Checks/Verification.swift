import Foundation
import S3

/// How far the tool goes to prove that two copies of an object hold the same bytes (`verify`). Each
/// level escalates only the objects the level below could not decide.
public enum VerifyLevel: String, Sendable, Codable, CaseIterable, Comparable {
  /// Sizes, then ETags: equal ETags, or two single-part MD5 ETags that differ, decide.
  case etag
  /// Also the `x-amz-checksum-*` values of HeadObject (asked for with `x-amz-checksum-mode: ENABLED`).
  case checksum
  /// Also the bytes: read and hashed (one side only where that proves it), for the keys the levels
  /// below leave unverified (`content_scope: unverified`) or for every key (`all`).
  case content

  /// The default for a check depth: ETags for shallow checks (listing only), checksums for deep ones
  /// (they send HEADs anyway).
  public static func `default`(deep: Bool) -> VerifyLevel { deep ? .checksum : .etag }

  public static func < (a: VerifyLevel, b: VerifyLevel) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// Which keys `verify: content` reads.
public enum ContentScope: String, Sendable, Codable, CaseIterable {
  /// Only those the levels below leave unverified.
  case unverified
  /// Every key in both buckets with equal sizes, like `rclone check --download`.
  case all
}

/// What the content comparison of one key in both buckets concluded, and how.
public enum ContentVerdict: Sendable, Equatable {
  /// Proven the same; `by` names the evidence (`etag`, `checksum:CRC32`, ...).
  case identical(by: String)
  /// Proven different; `fields` are the report's labels for what differs.
  case different(by: String, fields: [DifferenceField])
  /// Sizes equal, but nothing available at the requested level decides.
  case unverified(reason: String)

  public var isUnverified: Bool {
    if case .unverified = self { return true }
    return false
  }
}

/// An ETag as S3 writes it: the MD5 of the bytes (32 hex digits) for single-part uploads without SSE-KMS
/// or SSE-C, `MD5-of-part-MD5s-N` for multipart uploads, anything else otherwise.
public struct ETagShape: Sendable, Equatable {
  /// Parts of a multipart ETag (`-N`), nil for a single-part one.
  public var parts: Int?
  /// 32 hex digits and no part count: may be the MD5 of the bytes.
  public var looksLikeMD5: Bool

  public init(_ etag: String) {
    let bytes = Array(etag.utf8)
    func isHex(_ b: UInt8) -> Bool {
      (0x30...0x39).contains(b) || (0x61...0x66).contains(b) || (0x41...0x46).contains(b)
    }
    if let dash = bytes.lastIndex(of: UInt8(ascii: "-")), dash == 32, bytes[..<dash].allSatisfy(isHex),
      let n = Int(String(decoding: bytes[(dash + 1)...], as: UTF8.self)), n >= 1
    {
      parts = n
      looksLikeMD5 = false
    } else {
      parts = nil
      looksLikeMD5 = bytes.count == 32 && bytes.allSatisfy(isHex)
    }
  }
}

/// What HeadObject tells about an object's content beyond size and ETag.
public struct ContentFacts: Sendable, Equatable, Codable {
  /// Why the ETag is not an MD5 of the bytes (`SSE-KMS`, `SSE-C`), from the HEAD's encryption headers.
  public var etagNotMD5: String?
  /// `x-amz-checksum-*` values by upper-case algorithm name (`CRC32`, `CRC64NVME`, `SHA256`, ...).
  public var checksums: [String: String]
  /// `x-amz-checksum-type` (`FULL_OBJECT`, `COMPOSITE`), when sent.
  public var checksumType: String?
  /// Size of part 1 (`HEAD ?partNumber=1`), when asked for.
  public var firstPartSize: Int64?
  /// Checksums sent but not of their algorithm's size (moto 5.2 running without awscrt sends a 4-byte
  /// CRC64NVME for multipart uploads): never compared, named in the unverified reason.
  public var malformed: [String] = []

  public init(
    etagNotMD5: String? = nil, checksums: [String: String] = [:], checksumType: String? = nil,
    firstPartSize: Int64? = nil
  ) {
    self.etagNotMD5 = etagNotMD5
    self.checksums = checksums
    self.checksumType = checksumType
    self.firstPartSize = firstPartSize
  }

  /// The checksum algorithms S3 defines, strongest first: when both sides carry several, the first
  /// common one decides.
  public static let algorithms = ["SHA256", "SHA1", "CRC64NVME", "CRC32C", "CRC32"]

  /// The HeadObject headers these facts are read from.
  public static let headerNames: [String] =
    algorithms.map { "x-amz-checksum-\($0.lowercased())" } + [
      "x-amz-checksum-type", "x-amz-server-side-encryption", "x-amz-server-side-encryption-customer-algorithm",
    ]

  /// Bytes of each algorithm's checksum (before base64).
  static let sizes = ["SHA256": 32, "SHA1": 20, "CRC64NVME": 8, "CRC32C": 4, "CRC32": 4]

  /// Reads the facts from the headers a HEAD answer kept (lower-case names).
  public init(headers: [String: String]) {
    var sums: [String: String] = [:]
    for a in Self.algorithms {
      guard let v = headers["x-amz-checksum-\(a.lowercased())"], !v.isEmpty else { continue }
      // `BASE64` or, for a composite checksum, `BASE64-PARTS`
      let b64 = v.split(separator: "-", maxSplits: 1).first.map(String.init) ?? v
      if let bytes = Data(base64Encoded: b64), bytes.count == Self.sizes[a] {
        sums[a] = v
      } else {
        malformed.append(a)
      }
    }
    checksums = sums
    checksumType = headers["x-amz-checksum-type"]?.uppercased()
    if headers["x-amz-server-side-encryption-customer-algorithm"] != nil {
      etagNotMD5 = "SSE-C"
    } else if let sse = headers["x-amz-server-side-encryption"]?.lowercased(), sse.hasPrefix("aws:kms") {
      etagNotMD5 = sse == "aws:kms:dsse" ? "DSSE-KMS" : "SSE-KMS"
    }
  }
}

/// The verification ladder over what is known of both copies: pure, so every rung is tested by table.
public enum ContentCheck {
  /// One copy as the ladder sees it.
  public struct Copy: Sendable {
    public var size: Int64
    public var etag: String
    /// nil when only the listing is known.
    public var facts: ContentFacts?

    public init(size: Int64, etag: String, facts: ContentFacts? = nil) {
      self.size = size
      self.etag = etag
      self.facts = facts
    }
  }

  /// The verdict at `level` (the checksum rung is used only when both copies carry HEAD facts).
  public static func decide(_ s: Copy, _ d: Copy, level: VerifyLevel) -> ContentVerdict {
    let byETag = etagRung(s, d)
    guard case .unverified(let etagReason) = byETag, level >= .checksum, let sf = s.facts, let df = d.facts else {
      return byETag
    }
    if let v = checksumRung(s, sf, d, df) { return v }
    return .unverified(reason: [etagReason, checksumGap(sf, df)].compactMap { $0 }.joined(separator: "; "))
  }

  /// Sizes, then ETags.
  static func etagRung(_ s: Copy, _ d: Copy) -> ContentVerdict {
    if s.size != d.size {
      return .different(by: "size", fields: s.etag == d.etag ? [.size] : [.etag, .size])
    }
    if s.etag == d.etag { return .identical(by: "etag") }
    if let why = s.facts?.etagNotMD5 ?? d.facts?.etagNotMD5 {
      return .unverified(reason: "ETags not comparable: \(why)")
    }
    let a = ETagShape(s.etag)
    let b = ETagShape(d.etag)
    switch (a.parts, b.parts) {
    case (nil, nil):
      guard a.looksLikeMD5 && b.looksLikeMD5 else {
        return .unverified(reason: "ETags not comparable: not MD5 digests")
      }
      return .different(by: "etag", fields: [.etag])
    case (let n?, let m?) where n != m:
      return .unverified(reason: "multipart ETags with different part counts (\(n) vs \(m))")
    case (let n?, _?):
      if layoutsEqual(s, d) { return .different(by: "etag", fields: [.etag]) }
      if let p = s.facts?.firstPartSize, let q = d.facts?.firstPartSize {
        return .unverified(reason: "multipart ETags with \(n) parts each, cut differently (part 1: \(p) vs \(q) bytes)")
      }
      return .unverified(reason: "multipart ETags with \(n) parts each, part sizes not known to be equal")
    case (let n?, nil):
      return .unverified(reason: "a multipart ETag (\(n) parts) vs a single-part ETag")
    case (nil, let m?):
      return .unverified(reason: "a single-part ETag vs a multipart ETag (\(m) parts)")
    }
  }

  /// Whether knowing both first parts' sizes could turn an unverified verdict into a proven one: both
  /// multipart with one part count, and their ETags (or composite checksums) differ.
  public static func layoutWouldDecide(_ s: Copy, _ d: Copy) -> Bool {
    guard s.size == d.size, s.etag != d.etag, let n = ETagShape(s.etag).parts, n > 1 else { return false }
    return ETagShape(d.etag).parts == n && s.facts?.etagNotMD5 == nil && d.facts?.etagNotMD5 == nil
  }

  /// Equal part layouts: equal sizes, equal part counts and equal first parts (uploaders cut every part but
  /// the last to one size).
  static func layoutsEqual(_ s: Copy, _ d: Copy) -> Bool {
    guard s.size == d.size, let n = ETagShape(s.etag).parts, n == ETagShape(d.etag).parts else { return false }
    if n == 1 { return true }
    guard let p = s.facts?.firstPartSize, p == d.facts?.firstPartSize else { return false }
    return true
  }

  /// The first common checksum algorithm decides, or nil when there is none (or it cannot decide).
  static func checksumRung(_ s: Copy, _ sf: ContentFacts, _ d: Copy, _ df: ContentFacts) -> ContentVerdict? {
    guard let algorithm = ContentFacts.algorithms.first(where: { sf.checksums[$0] != nil && df.checksums[$0] != nil })
    else { return nil }
    let x = sf.checksums[algorithm]!
    let y = df.checksums[algorithm]!
    let sComposite = isComposite(x, sf, s)
    let dComposite = isComposite(y, df, d)
    let name = "checksum:\(algorithm)" + (sComposite ? "-composite" : "")
    if sComposite == dComposite && x == y { return .identical(by: name) }
    if !sComposite && !dComposite { return .different(by: name, fields: [.checksum]) }
    if sComposite && dComposite && layoutsEqual(s, d) { return .different(by: name, fields: [.checksum]) }
    return nil
  }

  /// A composite checksum (of part checksums): typed so, or written `VALUE-N`, or untyped on a multipart
  /// object (servers that predate the type header only computed composite ones for multipart uploads).
  static func isComposite(_ value: String, _ f: ContentFacts, _ c: Copy) -> Bool {
    if let t = f.checksumType { return t == "COMPOSITE" }
    if value.utf8.contains(UInt8(ascii: "-")) { return true }
    return ETagShape(c.etag).parts != nil
  }

  /// Why the checksum rung could not decide, to add to an unverified reason.
  public static func checksumGap(_ sf: ContentFacts?, _ df: ContentFacts?) -> String? {
    guard let sf, let df else { return nil }
    let bad = [("source", sf), ("destination", df)].flatMap { side, f in f.malformed.map { "\($0) on the \(side)" } }
    if !bad.isEmpty
      && ContentFacts.algorithms.allSatisfy({ sf.checksums[$0] == nil || df.checksums[$0] == nil })
    {
      return "malformed checksum ignored (\(bad.joined(separator: ", "))): wrong size for its algorithm"
    }
    if sf.checksums.isEmpty && df.checksums.isEmpty { return "no checksums on either side" }
    let common = ContentFacts.algorithms.filter { sf.checksums[$0] != nil && df.checksums[$0] != nil }
    if common.isEmpty {
      func names(_ f: ContentFacts) -> String {
        f.checksums.isEmpty ? "none" : ContentFacts.algorithms.filter { f.checksums[$0] != nil }.joined(separator: ", ")
      }
      return "no common checksum algorithm (source: \(names(sf)), destination: \(names(df)))"
    }
    return "composite checksums with different part layouts"
  }
}
