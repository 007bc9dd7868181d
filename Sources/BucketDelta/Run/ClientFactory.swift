import Foundation
import Logging
import S3

/// Makes the S3 clients of one process: one transport, and one `RequestGovernor` per server
/// (scheme, host and port), shared by every client that talks to it, whatever endpoint name or
/// pair it serves. A server's rate cap is the smallest cap of the endpoints that name it, times
/// `rateShare` (the part of the run's requests this process makes).
public final class ClientFactory: @unchecked Sendable {
  // @unchecked: `governors` is guarded by `lock`; the rest is immutable.
  private let lock = NSLock()
  private var governors: [String: RequestGovernor] = [:]
  private let caps: [String: Double]
  private let transport: any HTTPTransport
  private let maxConcurrency: Int
  private let rateShare: Double
  private let maxAttempts: Int
  private let requestTimeout: Double
  private let logger: Logger

  /// A side to make a client for.
  public struct Target: Sendable {
    public var url: String
    public var region: String
    public var addressing: AddressingStyle
    public var credentials: Credentials
    public var maxRequestsPerSecond: Double?
    public var tls: TLSSettings
  }

  /// - Parameters:
  ///   - targets: every side this process will talk to (for the per-server rate caps).
  public init(
    targets: [Target], transport: any HTTPTransport, maxConcurrency: Int, rateShare: Double, maxAttempts: Int,
    requestTimeout: Double, logger: Logger
  ) {
    var caps: [String: Double] = [:]
    for t in targets {
      guard let cap = t.maxRequestsPerSecond else { continue }
      let key = Self.serverKey(t.url)
      caps[key] = min(caps[key] ?? cap, cap)
    }
    self.caps = caps
    self.transport = transport
    self.maxConcurrency = maxConcurrency
    self.rateShare = rateShare
    self.maxAttempts = maxAttempts
    self.requestTimeout = requestTimeout
    self.logger = logger
  }

  /// `scheme://host:port` of an endpoint URL (lower-cased, default ports filled in).
  public static func serverKey(_ url: String) -> String {
    guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), let host = c.host?.lowercased()
    else {
      return url
    }
    let port = c.port ?? (scheme == "https" ? 443 : 80)
    return "\(scheme)://\(host):\(port)"
  }

  /// The governor of the server at `url`.
  public func governor(for url: String) -> RequestGovernor {
    let key = Self.serverKey(url)
    return lock.withLock {
      if let g = governors[key] { return g }
      let logger = self.logger
      let g = RequestGovernor(
        maxConcurrency: maxConcurrency, maxRequestsPerSecond: caps[key].map { $0 * rateShare },
        onDecrease: { limit in
          logger.warning("\(key) asks us to slow down: at most \(limit) requests in flight to it for now")
        })
      governors[key] = g
      return g
    }
  }

  /// A new client (with its own request counters) for `target`; nil when the URL is invalid.
  public func client(_ target: Target) -> S3Client? {
    guard let endpoint = try? S3Endpoint(url: target.url, region: target.region, addressing: target.addressing) else {
      return nil
    }
    var options = ClientOptions()
    options.retry = RetryPolicy(maxAttempts: maxAttempts)
    options.requestTimeout = requestTimeout
    options.tls = target.tls
    options.governor = governor(for: target.url)
    return S3Client(
      endpoint: endpoint, credentials: target.credentials, transport: transport, options: options, logger: logger)
  }
}

extension ClientFactory.Target {
  init(_ ep: EndpointConfig) {
    self.init(
      url: ep.url, region: ep.region, addressing: ep.addressing, credentials: ep.credentials,
      maxRequestsPerSecond: ep.maxRequestsPerSecond, tls: ep.tls)
  }

  init(_ side: WorkerSide) {
    self.init(
      url: side.endpointURL, region: side.region, addressing: AddressingStyle(rawValue: side.addressing) ?? .path,
      credentials: Credentials(
        accessKeyID: side.accessKeyID, secretAccessKey: side.secretAccessKey, sessionToken: side.sessionToken),
      maxRequestsPerSecond: side.maxRequestsPerSecond,
      tls: TLSSettings(caBundle: side.caBundle, verify: side.verifyTLS ?? true))
  }
}
