import Foundation

/// One HTTP request as the transport sends it.
public struct HTTPRequest: Sendable {
  public var method: String
  public var url: String
  public var headers: [(String, String)]
  /// A larger body fails the request instead of filling memory.
  public var maxResponseBytes: Int
  /// Whole-request timeout in seconds.
  public var timeout: Double
  /// How HTTPS server certificates are checked.
  public var tls: TLSSettings
  /// Where a 2xx answer's body goes instead of into memory (object content); error bodies are still
  /// kept, to be read.
  public var bodySink: BodySink?

  public init(
    method: String, url: String, headers: [(String, String)], maxResponseBytes: Int = 64 << 20,
    timeout: Double = ClientOptions.defaultRequestTimeout, tls: TLSSettings = TLSSettings()
  ) {
    self.method = method
    self.url = url
    self.headers = headers
    self.maxResponseBytes = maxResponseBytes
    self.timeout = timeout
    self.tls = tls
  }
}

/// Certificate checking for HTTPS endpoints: verified against the system's CAs by default.
public struct TLSSettings: Sendable, Equatable, Codable {
  /// A PEM file of CA certificates to trust instead of the system's (`ca_bundle`, `AWS_CA_BUNDLE`).
  public var caBundle: String?
  /// false only with an explicit `insecure_skip_tls_verify`.
  public var verify: Bool

  public init(caBundle: String? = nil, verify: Bool = true) {
    self.caBundle = caBundle
    self.verify = verify
  }
}

/// Receives a streamed response body as it arrives, on the thread that sent the request.
public final class BodySink: @unchecked Sendable {
  // @unchecked: used by the one thread that sends the request and reads the result.
  public let consume: (UnsafeRawBufferPointer) -> Void
  /// Called before every attempt: a retried request streams the body again from its start.
  public let restart: () -> Void
  /// Bytes consumed since the last restart.
  public private(set) var count: Int64 = 0

  public init(consume: @escaping (UnsafeRawBufferPointer) -> Void, restart: @escaping () -> Void) {
    self.consume = consume
    self.restart = restart
  }

  func take(_ bytes: UnsafeRawBufferPointer) {
    count += Int64(bytes.count)
    consume(bytes)
  }

  func begin() {
    count = 0
    restart()
  }
}

/// A complete HTTP response. Header names are lower-cased.
public struct HTTPResponse: Sendable {
  public var status: Int
  public var headers: [(String, String)]
  public var body: [UInt8]

  public init(status: Int, headers: [(String, String)], body: [UInt8]) {
    self.status = status
    self.headers = headers
    self.body = body
  }

  /// The first header named `name` (case-insensitive).
  public func header(_ name: String) -> String? {
    let lower = name.lowercased()
    return headers.first { $0.0 == lower }?.1
  }
}

/// A failure below HTTP: no connection, a reset, a timeout, a body too large.
public struct TransportError: Error, Sendable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    case connect, timeout, reset, tooLarge, tls, other
  }
  public var kind: Kind
  public var message: String

  public init(kind: Kind, message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}

/// Sends requests. The real one is `CurlTransport`; tests inject their own.
public protocol HTTPTransport: Sendable {
  /// Sends `request` and blocks the calling thread until the response arrives.
  /// Never call this from a Swift concurrency task.
  func send(_ request: HTTPRequest) -> Result<HTTPResponse, TransportError>
}
