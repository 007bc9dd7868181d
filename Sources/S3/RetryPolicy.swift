import Foundation

/// When and how long to wait before trying a request again.
public struct RetryPolicy: Sendable {
  /// Attempts in all, the first one included.
  public var maxAttempts: Int
  public var baseDelay: Double
  public var maxDelay: Double

  public init(maxAttempts: Int = 8, baseDelay: Double = 0.1, maxDelay: Double = 20) {
    self.maxAttempts = maxAttempts
    self.baseDelay = baseDelay
    self.maxDelay = maxDelay
  }

  /// Whether a service answer with `status` and S3 error `code` is worth another attempt:
  /// 5xx and 429 are, and so is S3's `400 RequestTimeout`; 400, 403 and 404 otherwise are final.
  public static func isRetryable(status: Int, code: String?) -> Bool {
    if [500, 502, 503, 504, 429].contains(status) { return true }
    switch code {
    case "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling":
      return true
    default:
      return false
    }
  }

  /// Whether an answer asks the client to slow down (lowers the endpoint's concurrency): 429, any 503
  /// (S3's `SlowDown`; HEAD answers carry no error code), and the throttling codes.
  public static func isThrottling(status: Int, code: String?) -> Bool {
    if status == 429 || status == 503 { return true }
    switch code {
    case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded": return true
    default: return false
    }
  }

  /// Whether a transport failure is worth another attempt.
  public static func isRetryable(_ error: TransportError) -> Bool {
    switch error.kind {
    case .connect, .timeout, .reset, .other: return true
    case .tooLarge, .tls: return false
    }
  }

  /// Delay before attempt `attempt + 1` (attempt counts from 1): full jitter over an exponential
  /// ceiling, but never less than the server's `Retry-After` (in seconds), both capped at `maxDelay`.
  public func delay(afterAttempt attempt: Int, retryAfter: String?, random: Double) -> Double {
    let ceiling = min(maxDelay, baseDelay * pow(2, Double(attempt - 1)))
    var d = ceiling * min(max(random, 0), 1)
    if let retryAfter, let seconds = Double(retryAfter.trimmingCharacters(in: .whitespaces)),
      seconds >= 0
    {
      d = max(d, min(seconds, maxDelay))
    }
    return d
  }
}
