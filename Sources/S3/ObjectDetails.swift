import Foundation

/// What HeadObject (and GetObjectTagging) tell about one object, as compared by the deep check.
/// Which single-valued headers are kept is the caller's list (the deep-field table, `DeepField.all`).
public struct ObjectDetails: Sendable, Equatable, Codable {
  /// Without surrounding quotes (unquoted by the initialisers, once).
  public private(set) var etag: String
  public var size: Int64?
  /// `x-amz-meta-*` headers: names lower-cased, without the prefix; values exact.
  public var metadata: [String: String]
  /// nil when tags were not fetched.
  public var tags: [String: String]?
  /// The headers asked for that the answer carried, by lower-cased name, values as sent.
  public var headers: [String: String]

  public init(
    etag: String, size: Int64?, metadata: [String: String] = [:], tags: [String: String]? = nil,
    headers: [String: String] = [:]
  ) {
    self.etag = unquoteETag(etag)
    self.size = size
    self.metadata = metadata
    self.tags = tags
    self.headers = headers
  }

  enum CodingKeys: String, CodingKey {
    case etag, size, metadata, tags, headers
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    etag = unquoteETag(try c.decode(String.self, forKey: .etag))
    size = try c.decodeIfPresent(Int64.self, forKey: .size)
    metadata = try c.decode([String: String].self, forKey: .metadata)
    tags = try c.decodeIfPresent([String: String].self, forKey: .tags)
    headers = try c.decodeIfPresent([String: String].self, forKey: .headers) ?? [:]
  }

  /// Reads the details from a HeadObject response, keeping the headers named in `keeping` (lower
  /// case). Only documented headers count: servers add their own (SeaweedFS sends `seaweed-*` and one
  /// `x-amz-tagging-<key>` per tag). An answer without an ETag or a numeric Content-Length is refused:
  /// two such answers would otherwise compare equal and pass as identical.
  public init(head response: HTTPResponse, keeping: [String]) throws(ProtocolError) {
    guard let rawETag = response.header("etag"), case let unquoted = unquoteETag(rawETag), !unquoted.isEmpty else {
      throw ProtocolError("HeadObject answer has no ETag header")
    }
    guard let lengthText = response.header("content-length") else {
      throw ProtocolError("HeadObject answer has no Content-Length header")
    }
    guard let length = Int64(lengthText), length >= 0 else {
      throw ProtocolError("HeadObject answer has an invalid Content-Length '\(lengthText.prefix(40))'")
    }
    etag = unquoted
    size = length
    var meta: [String: String] = [:]
    for (name, value) in response.headers where name.hasPrefix("x-amz-meta-") {
      meta[String(name.dropFirst("x-amz-meta-".count))] = value
    }
    metadata = meta
    tags = nil
    var kept: [String: String] = [:]
    for name in keeping {
      if let v = response.header(name) { kept[name] = v }
    }
    headers = kept
  }
}

/// Parses `<Tagging><TagSet><Tag><Key/><Value/></Tag>...` into a dictionary.
public func parseTagging(_ body: [UInt8]) throws(ProtocolError) -> [String: String] {
  let root: S3XMLNode
  do { root = try S3XMLParser.parse(body) } catch { throw ProtocolError(error.description) }
  guard root.name == "Tagging" else { throw ProtocolError("expected <Tagging>, got <\(root.name)>") }
  var tags: [String: String] = [:]
  for tag in root.child("TagSet")?.children("Tag") ?? [] {
    guard let key = tag.text(of: "Key") else { throw ProtocolError("<Tag> without <Key>") }
    if tags[key] != nil { throw ProtocolError("tag '\(key)' appears twice") }
    tags[key] = tag.text(of: "Value") ?? ""
  }
  return tags
}

/// Parses an ISO 8601 instant with 0 to 9 fractional digits (`2026-11-29T00:00:00Z`,
/// `2026-11-29T00:00:00.000000000Z`, `+00:00` offsets), to compare dates written differently.
/// Returns nanoseconds since 1970, or nil when `text` is not such a date.
public func parseInstant(_ text: String) -> (seconds: Int64, nanos: Int64)? {
  let s = Array(text.trimmingCharacters(in: .whitespaces).utf8)
  func num(_ from: Int, _ count: Int) -> Int? {
    guard from + count <= s.count else { return nil }
    var v = 0
    for i in from..<(from + count) {
      guard s[i] >= 0x30, s[i] <= 0x39 else { return nil }
      v = v * 10 + Int(s[i] - 0x30)
    }
    return v
  }
  guard s.count >= 19, let y = num(0, 4), s[4] == 0x2D, let mo = num(5, 2), s[7] == 0x2D, let d = num(8, 2),
    s[10] == 0x54 || s[10] == 0x74 || s[10] == 0x20, let h = num(11, 2), s[13] == 0x3A, let mi = num(14, 2),
    s[16] == 0x3A, let sec = num(17, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, sec < 61
  else { return nil }
  var i = 19
  var nanos: Int64 = 0
  if i < s.count, s[i] == 0x2E {
    i += 1
    var digits = 0
    while i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
      if digits < 9 { nanos = nanos * 10 + Int64(s[i] - 0x30) }
      digits += 1
      i += 1
    }
    guard digits > 0 else { return nil }
    for _ in digits..<max(digits, 9) { nanos *= 10 }
  }
  var offset = 0
  if i < s.count, s[i] == 0x5A || s[i] == 0x7A {
    i += 1
  } else if i < s.count, s[i] == 0x2B || s[i] == 0x2D, let oh = num(i + 1, 2) {
    let sign = s[i] == 0x2B ? 1 : -1
    var j = i + 3
    if j < s.count, s[j] == 0x3A { j += 1 }
    guard let om = num(j, 2) else { return nil }
    offset = sign * (oh * 3600 + om * 60)
    i = j + 2
  } else {
    return nil
  }
  guard i == s.count else { return nil }
  // days from civil (Howard Hinnant's algorithm)
  let yy = mo <= 2 ? y - 1 : y
  let era = (yy >= 0 ? yy : yy - 399) / 400
  let yoe = yy - era * 400
  let mp = (mo + 9) % 12
  let doy = (153 * mp + 2) / 5 + d - 1
  let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
  let days = era * 146097 + doe - 719468
  let seconds = Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + sec) - Int64(offset)
  return (seconds, nanos)
}
