/// One version or delete marker of a `ListObjectVersions` answer.
public struct ObjectVersion: Sendable, Equatable {
  public var key: String
  public var versionID: String
  public var isLatest: Bool
  public var isDeleteMarker: Bool
  /// Without quotes; empty for a delete marker.
  public var etag: String
  /// 0 for a delete marker.
  public var size: Int64
  public var lastModified: String

  public init(
    key: String, versionID: String, isLatest: Bool, isDeleteMarker: Bool, etag: String, size: Int64,
    lastModified: String
  ) {
    self.key = key
    self.versionID = versionID
    self.isLatest = isLatest
    self.isDeleteMarker = isDeleteMarker
    self.etag = unquoteETag(etag)
    self.size = size
    self.lastModified = lastModified
  }
}

/// One page of a `ListObjectVersions` answer: versions and delete markers in the server's order (by key,
/// then newest first), whatever the order of the `<Version>` and `<DeleteMarker>` elements.
public struct ListObjectVersionsPage: Sendable {
  public var versions: [ObjectVersion]
  public var isTruncated: Bool
  public var nextKeyMarker: String?
  public var nextVersionIDMarker: String?

  /// Parses a `ListVersionsResult` document; keys (and the key marker) are URL-decoded when the answer
  /// says `EncodingType=url`.
  public static func parse(_ body: [UInt8]) throws(ProtocolError) -> ListObjectVersionsPage {
    let root: S3XMLNode
    do { root = try S3XMLParser.parse(body) } catch { throw ProtocolError(error.description) }
    guard root.name == "ListVersionsResult" else {
      throw ProtocolError("expected <ListVersionsResult>, got <\(root.name)>")
    }
    let encoded = root.text(of: "EncodingType")?.lowercased() == "url"
    func decode(_ raw: String, _ what: String) throws(ProtocolError) -> String {
      guard encoded else { return raw }
      guard let d = URIEncoding.formDecode(raw) else {
        throw ProtocolError("\(what) '\(raw)' is not valid URL encoding of UTF-8")
      }
      return d
    }
    var versions: [ObjectVersion] = []
    for c in root.children where c.name == "Version" || c.name == "DeleteMarker" {
      guard let rawKey = c.text(of: "Key") else { throw ProtocolError("<\(c.name)> without <Key>") }
      let key = try decode(rawKey, "key")
      let marker = c.name == "DeleteMarker"
      var size: Int64 = 0
      if !marker {
        guard let sizeText = c.text(of: "Size"), let s = Int64(sizeText), s >= 0 else {
          throw ProtocolError("version of '\(key)' has no valid <Size>")
        }
        size = s
      }
      versions.append(
        ObjectVersion(
          key: key, versionID: c.text(of: "VersionId") ?? "null",
          isLatest: c.text(of: "IsLatest")?.lowercased() == "true", isDeleteMarker: marker,
          etag: c.text(of: "ETag") ?? "", size: size, lastModified: c.text(of: "LastModified") ?? ""))
    }
    let truncated = root.text(of: "IsTruncated")?.lowercased() == "true"
    var keyMarker = try root.text(of: "NextKeyMarker").map { raw throws(ProtocolError) in
      try decode(raw, "NextKeyMarker")
    }
    if keyMarker?.isEmpty == true { keyMarker = nil }
    var versionMarker = root.text(of: "NextVersionIdMarker")
    if versionMarker?.isEmpty == true { versionMarker = nil }
    if truncated && keyMarker == nil {
      throw ProtocolError("IsTruncated is true but there is no NextKeyMarker")
    }
    return ListObjectVersionsPage(
      versions: versions, isTruncated: truncated, nextKeyMarker: keyMarker, nextVersionIDMarker: versionMarker)
  }
}

/// A bucket's versioning state (`GetBucketVersioning`): `Enabled`, `Suspended`, or `Unversioned` when it
/// was never enabled (the answer has no `<Status>`).
public enum VersioningStatus: String, Sendable, Codable {
  case enabled = "Enabled"
  case suspended = "Suspended"
  case unversioned = "Unversioned"
}
