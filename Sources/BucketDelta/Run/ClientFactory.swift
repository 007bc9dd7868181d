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

  /// - Parameters:
  ///   - endpoints: every endpoint this process will talk to (for the per-server rate caps).
  public init(
    endpoints: [EndpointConfig], transport: any HTTPTransport, maxConcurrency: Int, rateShare: Double, maxAttempts: Int,
    requestTimeout: Double, logger: Logger
  ) {
    var caps: [String: Double] = [:]
    for t in endpoints {
      guard let cap = t.maxRequestsPerSecond else { continue }
      let key = t.endpoint.serverKey
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

  /// The governor of the server `endpoint` reaches.
  public func governor(for endpoint: S3Endpoint) -> RequestGovernor {
    let key = endpoint.serverKey
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

  /// A new client (with its own request counters) for `endpoint`.
  public func client(_ endpoint: EndpointConfig) -> S3Client {
    var options = ClientOptions()
    options.retry = RetryPolicy(maxAttempts: maxAttempts)
    options.requestTimeout = requestTimeout
    options.tls = endpoint.tls
    options.governor = governor(for: endpoint.endpoint)
    return S3Client(
      endpoint: endpoint.endpoint, credentials: endpoint.credentials, transport: transport, options: options,
      logger: logger)
  }
}
