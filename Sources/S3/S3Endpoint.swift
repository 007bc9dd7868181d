import Foundation

/// How the bucket is put into request URLs.
public enum AddressingStyle: String, Sendable, CaseIterable, Codable {
  /// `https://host/bucket/key` (the default: works with every S3-compatible server).
  case path
  /// `https://bucket.host/key`.
  case virtual
}

/// A parsed endpoint URL with its region and addressing style.
public struct S3Endpoint: Sendable, Codable, Equatable, CustomStringConvertible {
  public var scheme: String
  public var host: String
  public var port: Int?
  /// Path below which the service lives (usually empty), without a trailing slash.
  public var basePath: String
  public var region: String
  public var addressing: AddressingStyle

  /// Parses `url` (`http://` or `https://`, no user or password, no query).
  public init(url: String, region: String = "us-east-1", addressing: AddressingStyle = .path) throws(EndpointError) {
    guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(),
      scheme == "http" || scheme == "https"
    else { throw EndpointError(url: url, reason: "must start with http:// or https://") }
    guard let host = c.host, !host.isEmpty else { throw EndpointError(url: url, reason: "has no host") }
    guard c.user == nil, c.password == nil else {
      throw EndpointError(
        url: "\(scheme)://\(host)", reason: "must not contain credentials; use the access/secret key options")
    }
    guard c.query == nil, c.fragment == nil else {
      throw EndpointError(url: url, reason: "must not have a query or fragment")
    }
    var path = c.percentEncodedPath
    while path.hasSuffix("/") { path.removeLast() }
    guard path.isEmpty else {
      // `http://host:9000/mybucket` answered "404 NoSuchKey" for every listing: the bucket went into
      // the path twice.
      throw EndpointError(
        url: url,
        reason:
          "has a path ('\(path)'): give the server only (\(scheme)://\(c.percentEncodedHost ?? host)\(c.port.map { ":\($0)" } ?? "")) and name the bucket in the bucket setting (source.bucket/destination.bucket of the pair in a manifest, --source_bucket_name/--destination_bucket_name on the command line)"
      )
    }
    if addressing == .virtual && Self.isIPAddress(host) {
      throw EndpointError(
        url: url,
        reason:
          "is an IP address, but virtual-hosted addressing puts the bucket into the host name (BUCKET.\(host) cannot be resolved): use addressing_style: path (--addressing_style path), or a DNS name for the endpoint"
      )
    }
    self.scheme = scheme
    self.host = host
    self.port = c.port
    self.basePath = path
    self.region = region
    self.addressing = addressing
  }

  /// Whether `host` is an IPv4 or IPv6 literal (URLComponents gives IPv6 without brackets).
  static func isIPAddress(_ host: String) -> Bool {
    if host.contains(":") { return true }
    let parts = host.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4
      && parts.allSatisfy { p in
        !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && Int(p)! <= 255
      }
  }

  /// `scheme://host:port` with the default port filled in: requests to one server share its limits,
  /// whatever endpoint name or addressing style reaches it.
  public var serverKey: String {
    let h = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host.lowercased())]" : host.lowercased()
    return "\(scheme)://\(h):\(port ?? (scheme == "https" ? 443 : 80))"
  }

  /// `host[:port]` as sent in the Host header (the port only when it is not the scheme's default).
  public func hostHeader(bucket: String?) -> String {
    // An IPv6 literal gets brackets. (On the UTF-8 view: `contains(":")` went through Foundation's
    // range(of:), 4% of a worker's CPU, since this runs for every request.)
    var h = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
    if addressing == .virtual, let bucket { h = "\(bucket).\(h)" }
    if let port, !((scheme == "http" && port == 80) || (scheme == "https" && port == 443)) {
      h += ":\(port)"
    }
    return h
  }

  /// The encoded request path for `bucket` and optional `key`.
  public func path(bucket: String, key: String?) -> String {
    var p = basePath
    if addressing == .path {
      p += "/" + URIEncoding.encode(bucket)
      guard let key else { return p }
      return p + "/" + URIEncoding.encode(key, keepSlash: true)
    }
    return p + "/" + (key.map { URIEncoding.encode($0, keepSlash: true) } ?? "")
  }

  /// The endpoint as the user gave it, for messages.
  public var description: String {
    var h = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
    if let port { h += ":\(port)" }
    return "\(scheme)://\(h)\(basePath)"
  }
}

/// An endpoint URL that cannot be used.
public struct EndpointError: Error, Sendable, LocalizedError, CustomStringConvertible {
  public var url: String
  public var reason: String
  public var description: String { "endpoint URL '\(url)' \(reason)" }
  public var errorDescription: String? { description }
}
