import Foundation

/// One object as a listing shows it.
public struct ListedObject: Sendable, Equatable {
  public var key: String
  /// The ETag without its surrounding quotes: unquoted here, once, so no consumer has to.
  public private(set) var etag: String
  public var size: Int64
  public var lastModified: String

  public init(key: String, etag: String, size: Int64, lastModified: String) {
    self.key = key
    self.etag = unquoteETag(etag)
    self.size = size
    self.lastModified = lastModified
  }
}

/// One page of a ListObjectsV2 answer.
public struct ListObjectsV2Page: Sendable {
  public var objects: [ListedObject]
  /// `<CommonPrefixes>` of a listing with a delimiter, in the order the server sent them.
  public var commonPrefixes: [String] = []
  public var isTruncated: Bool
  public var nextContinuationToken: String?

  /// Parses a `ListBucketResult` document. Keys are URL-decoded when the answer says
  /// `EncodingType=url`.
  public static func parse(_ body: [UInt8]) throws(ProtocolError) -> ListObjectsV2Page {
    let root: S3XMLNode
    do { root = try S3XMLParser.parse(body) } catch { throw ProtocolError(error.description) }
    guard root.name == "ListBucketResult" else {
      throw ProtocolError("expected <ListBucketResult>, got <\(root.name)>")
    }
    let encoded = root.text(of: "EncodingType")?.lowercased() == "url"
    var objects: [ListedObject] = []
    objects.reserveCapacity(root.children.count)
    for c in root.children where c.name == "Contents" {
      guard let rawKey = c.text(of: "Key") else { throw ProtocolError("<Contents> without <Key>") }
      var key = rawKey
      if encoded {
        guard let decoded = URIEncoding.formDecode(rawKey) else {
          throw ProtocolError("key '\(rawKey)' is not valid URL encoding of UTF-8")
        }
        key = decoded
      }
      guard let sizeText = c.text(of: "Size"), let size = Int64(sizeText), size >= 0 else {
        throw ProtocolError("object '\(key)' has no valid <Size>")
      }
      objects.append(
        ListedObject(
          key: key, etag: c.text(of: "ETag") ?? "", size: size,
          lastModified: c.text(of: "LastModified") ?? ""))
    }
    var prefixes: [String] = []
    for c in root.children where c.name == "CommonPrefixes" {
      guard let raw = c.text(of: "Prefix") else { continue }
      if encoded {
        guard let decoded = URIEncoding.formDecode(raw) else {
          throw ProtocolError("common prefix '\(raw)' is not valid URL encoding of UTF-8")
        }
        prefixes.append(decoded)
      } else {
        prefixes.append(raw)
      }
    }
    let truncatedText = root.text(of: "IsTruncated")?.lowercased()
    guard truncatedText == nil || truncatedText == "true" || truncatedText == "false" else {
      throw ProtocolError("<IsTruncated> is '\(truncatedText!)'")
    }
    let truncated = truncatedText == "true"
    var token = root.text(of: "NextContinuationToken")
    if token?.isEmpty == true { token = nil }
    if truncated && token == nil {
      throw ProtocolError("IsTruncated is true but there is no NextContinuationToken")
    }
    return ListObjectsV2Page(
      objects: objects, commonPrefixes: prefixes, isTruncated: truncated, nextContinuationToken: token)
  }
}

/// ETags are quoted in S3 answers; some servers drop the quotes. Compare them without.
public func unquoteETag(_ etag: String) -> String {
  var etag = etag
  let unquoted: String? = etag.withUTF8 { utf8 in
    var lo = 0
    var hi = utf8.count
    if hi > lo && utf8[lo] == 0x22 { lo += 1 }
    if hi > lo && utf8[hi - 1] == 0x22 { hi -= 1 }
    let entity: [UInt8] = [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B]  // &quot;
    if hi - lo >= 6 && utf8[lo..<(lo + 6)].elementsEqual(entity) { lo += 6 }
    if hi - lo >= 6 && utf8[(hi - 6)..<hi].elementsEqual(entity) { hi -= 6 }
    guard lo > 0 || hi < utf8.count else { return nil }
    return String(decoding: UnsafeBufferPointer(rebasing: utf8[lo..<hi]), as: UTF8.self)
  }
  return unquoted ?? etag
}

/// A response that breaks the S3 protocol.
public struct ProtocolError: Error, Sendable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// An S3 `<Error>` body.
public struct ServiceErrorBody: Sendable {
  public var code: String
  public var message: String
  public var requestID: String?
  /// The bucket's region, when the server says (`x-amz-bucket-region`, or `<Region>` in the body).
  public var region: String?
  /// The endpoint a redirect asks for (`<Endpoint>` of a PermanentRedirect body).
  public var endpoint: String?

  /// Parses an error body; falls back to the HTTP status when the body is empty or not S3 XML
  /// (HEAD answers have no body).
  public static func parse(status: Int, body: [UInt8], headers: HTTPResponse) -> ServiceErrorBody {
    let requestID = headers.header("x-amz-request-id")
    let headerRegion = headers.header("x-amz-bucket-region")
    if let root = try? S3XMLParser.parse(body), root.name == "Error" {
      var e = ServiceErrorBody(
        code: root.text(of: "Code") ?? "HTTP\(status)", message: root.text(of: "Message") ?? "",
        requestID: root.text(of: "RequestId") ?? requestID)
      e.region = headerRegion ?? root.text(of: "Region")
      e.endpoint = root.text(of: "Endpoint")
      return e
    }
    let fallback: String
    switch status {
    case 301: fallback = "PermanentRedirect"  // a HEAD answer has no body to name it
    case 403: fallback = "AccessDenied"
    case 404: fallback = "NotFound"
    default: fallback = "HTTP\(status)"
    }
    var message = ""
    if !body.isEmpty {
      let snippet = String(decoding: body.prefix(120), as: UTF8.self)
        .replacingOccurrences(of: "\n", with: " ")
      message = "unexpected response body: \(snippet)"
    }
    var e = ServiceErrorBody(code: fallback, message: message, requestID: requestID)
    e.region = headerRegion
    return e
  }
}
