import Foundation

/// Admission control for the requests of one process to one endpoint (host and port):
///
/// - **AIMD concurrency**: at most `limit` requests in flight. A throttling answer (`503 SlowDown`,
///   `429`, `Throttling`) halves the limit, at most once per "generation" (requests started before the
///   last decrease do not decrease it again); each success adds `1/limit` (about one per round of
///   requests) up to `maxConcurrency`.
/// - **Rate cap**: with `maxRequestsPerSecond`, request starts are spaced at least `1/rate` apart
///   (a token bucket holding one token, so no burst above the rate).
///
/// Blocking: call from threads, never from Swift concurrency tasks.
public final class RequestGovernor: @unchecked Sendable {
  // @unchecked: all mutable state is guarded by `condition`.
  public let maxConcurrency: Int
  public let maxRequestsPerSecond: Double?
  private let condition = NSCondition()
  private var limit: Double
  private var inFlight = 0
  private var generation = 0
  private var nextStart: Double = 0
  private var _throttles = 0
  private var _decreases = 0
  private let now: @Sendable () -> Double
  private let sleep: @Sendable (Double) -> Void
  private let onDecrease: @Sendable (Int) -> Void

  /// - Parameters:
  ///   - now: monotonic seconds (injected for tests).
  ///   - onDecrease: called with the new limit after each decrease (for the log).
  public init(
    maxConcurrency: Int, maxRequestsPerSecond: Double? = nil,
    now: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 },
    sleep: @escaping @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) },
    onDecrease: @escaping @Sendable (Int) -> Void = { _ in }
  ) {
    self.maxConcurrency = max(1, maxConcurrency)
    self.maxRequestsPerSecond = maxRequestsPerSecond.flatMap { $0 > 0 ? $0 : nil }
    self.limit = Double(self.maxConcurrency)
    self.now = now
    self.sleep = sleep
    self.onDecrease = onDecrease
  }

  /// A request admitted by `acquire()`; hand it back to `release`.
  public struct Ticket: Sendable {
    let generation: Int
  }

  /// How a request ended, as far as the governor cares.
  public enum Outcome: Sendable {
    case success, throttled, failed
  }

  /// Waits for a free slot under the current limit and, with a rate cap, for the next start time.
  public func acquire() -> Ticket {
    condition.lock()
    while inFlight >= max(1, Int(limit)) { condition.wait() }
    inFlight += 1
    let ticket = Ticket(generation: generation)
    var wait = 0.0
    if let rate = maxRequestsPerSecond {
      let t = now()
      let start = max(t, nextStart)
      nextStart = start + 1 / rate
      wait = start - t
    }
    condition.unlock()
    if wait > 0 { sleep(wait) }
    return ticket
  }

  public func release(_ ticket: Ticket, _ outcome: Outcome) {
    condition.lock()
    inFlight -= 1
    var decreasedTo: Int?
    switch outcome {
    case .success:
      limit = min(Double(maxConcurrency), limit + 1 / limit)
    case .throttled:
      _throttles += 1
      if ticket.generation == generation {
        generation += 1
        limit = max(1, limit / 2)
        _decreases += 1
        decreasedTo = Int(limit)
      }
    case .failed:
      break
    }
    condition.broadcast()
    condition.unlock()
    if let decreasedTo { onDecrease(decreasedTo) }
  }

  /// The current concurrency limit.
  public var currentLimit: Int {
    condition.lock()
    defer { condition.unlock() }
    return max(1, Int(limit))
  }
  /// Throttling answers seen.
  public var throttles: Int {
    condition.lock()
    defer { condition.unlock() }
    return _throttles
  }
  /// Times the limit was lowered.
  public var decreases: Int {
    condition.lock()
    defer { condition.unlock() }
    return _decreases
  }
}
