import Foundation

/// Everything that can go wrong talking to S3, with where it happened.
public struct S3Error: Error, Sendable, LocalizedError, CustomStringConvertible {
  public enum Kind: Sendable {
    /// The service answered with an error status (and usually an XML error body).
    case service(status: Int, code: String, message: String, requestID: String?)
    /// No usable HTTP exchange: connection refused, reset, timeout, TLS.
    case transport(TransportError)
    /// The service answered something that breaks the protocol (garbage XML, a truncated page
    /// without a continuation token, a repeating token).
    case protocolViolation(String)
  }

  public var kind: Kind
  /// `ListObjectsV2`, `HeadObject`, ...
  public var operation: String
  public var endpoint: String
  public var bucket: String
  public var key: String?
  /// How many attempts were made before giving up.
  public var attempts: Int
  /// The bucket's region and the endpoint the server asks for, when it says (redirects, region errors).
  public var bucketRegion: String?
  public var redirectEndpoint: String?

  public init(
    kind: Kind, operation: String, endpoint: String, bucket: String, key: String? = nil,
    attempts: Int = 1
  ) {
    self.kind = kind
    self.operation = operation
    self.endpoint = endpoint
    self.bucket = bucket
    self.key = key
    self.attempts = attempts
  }

  /// The HTTP status, for service errors.
  public var status: Int? {
    if case .service(let status, _, _, _) = kind { return status }
    return nil
  }

  /// The S3 error code (`NoSuchBucket`, `SignatureDoesNotMatch`, ...), for service errors.
  public var code: String? {
    if case .service(_, let code, _, _) = kind { return code }
    return nil
  }

  public var description: String {
    var place = "\(operation) on bucket '\(bucket)'"
    if let key { place += " key '\(key)'" }
    place += " at \(endpoint)"
    let tries = attempts > 1 ? " (after \(attempts) attempts)" : ""
    switch kind {
    case .service(let status, let code, let message, let requestID):
      var s = "\(place): HTTP \(status) \(code)"
      if !message.isEmpty { s += ": \(message)" }
      if let requestID, !requestID.isEmpty { s += " (request id \(requestID))" }
      if let hint = redirectHint(status: status, code: code) ?? Self.hint(code: code, operation: operation) {
        s += ". \(hint)"
      }
      return s + tries
    case .transport(let e):
      return "\(place): \(e.message)\(tries)"
    case .protocolViolation(let what):
      return "\(place): invalid response: \(what)\(tries)"
    }
  }

  public var errorDescription: String? { description }

  /// The IAM permission an operation needs.
  public static func permission(for operation: String) -> String {
    switch operation {
    case "ListObjectsV2": return "s3:ListBucket"
    case "GetObjectTagging": return "s3:GetObjectTagging"
    default: return "s3:GetObject"  // HeadObject and GetObject
    }
  }

  /// What kind of failure this is, without the key and request id: equal for failures with one cause
  /// (`HTTP 403 AccessDenied`, `connection reset`), so repeats can be counted instead of logged.
  public var kindSummary: String {
    switch kind {
    case .service(let status, let code, _, _): return "HTTP \(status) \(code)"
    case .transport(let e): return "transport error: \(e.message)"
    case .protocolViolation: return "invalid response"
    }
  }

  /// What to do about an answer that says the bucket lives in another region or behind another endpoint.
  private func redirectHint(status: Int, code: String) -> String? {
    let redirectCodes: Set<String> = [
      "PermanentRedirect", "TemporaryRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException",
    ]
    guard status == 301 || status == 307 || redirectCodes.contains(code) else { return nil }
    var s = "The bucket '\(bucket)' is not served by this endpoint and region"
    if let bucketRegion {
      s +=
        ": it is in region \(bucketRegion) (set region: \(bucketRegion) for this endpoint, or --source_region/--destination_region \(bucketRegion))"
    }
    if let redirectEndpoint {
      s += (bucketRegion == nil ? ": " : "; ") + "the server asks for endpoint \(redirectEndpoint)"
    }
    if bucketRegion == nil && redirectEndpoint == nil {
      s += ": set the bucket's region and that region's endpoint URL"
    }
    return s
  }

  private static func hint(code: String, operation: String) -> String? {
    switch code {
    case "SignatureDoesNotMatch": return "Check the secret key and the region"
    case "InvalidAccessKeyId": return "Check the access key"
    case "AccessDenied":
      let extra =
        operation == "GetObjectTagging"
        ? " (or set compare_object_tags: false, --compare_object_tags false, to compare without tags)" : ""
      return "The credentials lack \(permission(for: operation)) on this bucket\(extra)"
    case "NoSuchBucket": return "Check the bucket name and the endpoint"
    default: return nil
    }
  }
}
