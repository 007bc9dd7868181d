import Foundation

/// AWS Signature Version 4 for S3 requests without a body (GET, HEAD).
///
/// Follows "Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk"
/// of the Amazon S3 API reference. The derived signing key is cached per day.
public final class SigV4Signer: @unchecked Sendable {
  // @unchecked: the only mutable state is `cachedKey`, guarded by `lock`.
  public let credentials: Credentials
  public let region: String
  public let service: String
  private let lock = NSLock()
  private var cachedKey: (day: String, key: [UInt8])?

  public init(credentials: Credentials, region: String, service: String = "s3") {
    self.credentials = credentials
    self.region = region
    self.service = service
  }

  /// The canonical query string: names and values URI-encoded, sorted by name then value.
  public static func canonicalQuery(_ query: [(String, String)]) -> String {
    var encoded: [(name: String, value: String)] = []
    encoded.reserveCapacity(query.count)
    for (name, value) in query {
      encoded.append((URIEncoding.encode(name), URIEncoding.encode(value)))
    }
    encoded.sort { (a: (name: String, value: String), b: (name: String, value: String)) -> Bool in
      a.name == b.name ? a.value < b.value : a.name < b.name
    }
    var parts: [String] = []
    for item in encoded { parts.append(item.name + "=" + item.value) }
    return parts.joined(separator: "&")
  }

  /// Signs a request and returns the headers to send with it (the given ones plus `x-amz-date`,
  /// `x-amz-content-sha256`, `x-amz-security-token` when there is one, and `Authorization`).
  ///
  /// - Parameters:
  ///   - method: HTTP method, e.g. `GET`.
  ///   - canonicalPath: the path exactly as sent, already URI-encoded (e.g. `/bucket/a%20b`).
  ///   - query: query parameters, not encoded.
  ///   - headers: headers to sign; must include `host`.
  ///   - payloadHash: hex SHA-256 of the body.
  ///   - date: the signing time (injected, so tests can use a fixed clock).
  public func sign(
    method: String, canonicalPath: String, query: [(String, String)], headers: [(String, String)],
    payloadHash: String = Crypto.emptyPayloadHash, date: Date
  ) -> [(String, String)] {
    let amzDate = AMZDate(date)
    var all = headers.map { ($0.0.lowercased(), $0.1) }
    all.append(("x-amz-date", amzDate.timestamp))
    all.append(("x-amz-content-sha256", payloadHash))
    if let token = credentials.sessionToken { all.append(("x-amz-security-token", token)) }

    // Task 1: the canonical request.
    let sorted = all.sorted { $0.0 < $1.0 }
    let canonicalHeaders = sorted.map { "\($0.0):\(Self.trimmed($0.1))\n" }.joined()
    let signedHeaders = sorted.map(\.0).joined(separator: ";")
    let canonicalRequest = [
      method, canonicalPath, Self.canonicalQuery(query), canonicalHeaders, signedHeaders,
      payloadHash,
    ].joined(separator: "\n")

    // Task 2: the string to sign.
    let scope = "\(amzDate.day)/\(region)/\(service)/aws4_request"
    let stringToSign = [
      "AWS4-HMAC-SHA256", amzDate.timestamp, scope,
      Crypto.hex(Crypto.sha256(Array(canonicalRequest.utf8))),
    ].joined(separator: "\n")

    // Task 3: the signature.
    let key = signingKey(day: amzDate.day)
    let signature = Crypto.hex(Crypto.hmacSHA256(key: key, data: Array(stringToSign.utf8)))
    all.append(
      (
        "authorization",
        "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
          + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
      ))
    return all
  }

  /// The signing key for `day`: HMAC chain over date, region, service and `aws4_request`.
  func signingKey(day: String) -> [UInt8] {
    lock.lock()
    defer { lock.unlock() }
    if let cached = cachedKey, cached.day == day { return cached.key }
    let kDate = Crypto.hmacSHA256(
      key: Array("AWS4\(credentials.secretAccessKey)".utf8), data: Array(day.utf8))
    let kRegion = Crypto.hmacSHA256(key: kDate, data: Array(region.utf8))
    let kService = Crypto.hmacSHA256(key: kRegion, data: Array(service.utf8))
    let kSigning = Crypto.hmacSHA256(key: kService, data: Array("aws4_request".utf8))
    cachedKey = (day, kSigning)
    return kSigning
  }

  /// Header values: leading/trailing spaces removed, inner runs of spaces folded to one.
  private static func trimmed(_ value: String) -> String {
    let utf8 = value.utf8
    var previousSpace = true  // a leading space needs trimming too
    var clean = true
    for b in utf8 {
      if b == 0x20 && previousSpace {
        clean = false
        break
      }
      previousSpace = b == 0x20
    }
    if clean && utf8.last != 0x20 { return value }
    return value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
  }
}
