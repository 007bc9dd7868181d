import Foundation

/// Samples each pair's compared-object counter every few seconds during the run, for the summary's
/// `progress_series` and the sign-off page's objects/s chart. Owns one sampling thread, joined by `stop`.
public final class ProgressSeries: @unchecked Sendable {
  // @unchecked: all state is guarded by `condition`.
  private let condition = NSCondition()
  private var pairs: [Int: PairProgress] = [:]
  private var points: [Int: [[Double]]] = [:]
  private var stopped = false
  private var done = false
  private let interval: Double
  /// Above this many points a pair's series keeps every other one (a long run stays a small summary).
  static let maxPoints = 400

  public init(interval: Double = 2) { self.interval = interval }

  public func start() {
    let t = Thread { [self] in
      condition.lock()
      while !stopped {
        _ = condition.wait(until: Date().addingTimeInterval(interval))
        if stopped { break }
        for (i, p) in pairs { sampleLocked(i, p) }
      }
      done = true
      condition.broadcast()
      condition.unlock()
    }
    t.name = "progress-series"
    t.start()
  }

  /// Stops sampling and waits for the thread to end.
  public func stop() {
    condition.lock()
    stopped = true
    condition.broadcast()
    while !done { condition.wait() }
    condition.unlock()
  }

  func add(_ index: Int, _ p: PairProgress) {
    condition.withLock {
      pairs[index] = p
      points[index] = [[0, 0]]
    }
  }

  /// Takes the pair's last sample and stops sampling it; returns its series (`[seconds, objects]`).
  func finish(_ index: Int) -> [[Double]] {
    condition.withLock {
      if let p = pairs[index] { sampleLocked(index, p) }
      pairs[index] = nil
      return points[index] ?? []
    }
  }

  private func sampleLocked(_ i: Int, _ p: PairProgress) {
    let t = (Date().timeIntervalSince(p.started) * 10).rounded() / 10
    var series = points[i] ?? []
    if let last = series.last, last[0] >= t { return }
    series.append([t, Double(p.snapshot.compared)])
    if series.count > Self.maxPoints {
      series = series.enumerated().filter { $0.offset % 2 == 0 || $0.offset == series.count - 1 }.map(\.element)
    }
    points[i] = series
  }
}
