import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Live counters of one pair, written by its listing threads and its comparison, read by the display.
public final class PairProgress: @unchecked Sendable {
  // @unchecked: all mutable state is guarded by `lock`.
  public let name: String
  public let started: Date
  private let lock = NSLock()
  private var state = Snapshot()

  /// The counters at one moment.
  public struct Snapshot: Sendable, Equatable {
    public var listedSource = 0
    public var listedDestination = 0
    public var sourceListed = false
    public var destinationListed = false
    public var compared = 0
    public var differences = 0
    /// Bytes of content read (`verify: content`).
    public var bytesRead: Int64 = 0
    /// Objects the previous complete run of this pair compared, if known.
    public var previousTotal: Int?
    public init() {}
  }

  public init(name: String, previousTotal: Int? = nil, started: Date = Date()) {
    self.name = name
    self.started = started
    state.previousTotal = previousTotal
  }

  public var snapshot: Snapshot { lock.withLock { state } }

  func listed(_ side: Side, count: Int, finished: Bool) {
    lock.withLock {
      switch side {
      case .source:
        state.listedSource += count
        if finished { state.sourceListed = true }
      case .destination:
        state.listedDestination += count
        if finished { state.destinationListed = true }
      }
    }
  }

  func compared(total: Int, differences: Int, bytesRead: Int64 = 0) {
    lock.withLock {
      state.compared = total
      state.differences = differences
      state.bytesRead = bytesRead
    }
  }

  /// A restarted comparison (a listing had to be sorted) lists again from the start.
  func restartListing() {
    lock.withLock {
      state.listedSource = 0
      state.listedDestination = 0
      state.sourceListed = false
      state.destinationListed = false
    }
  }
}

/// Where a run shows its pairs' live counters (the CLI's terminal block); the runner adds each
/// pair's counters while it runs.
public protocol ProgressReporter: AnyObject, Sendable {
  func start()
  func stop()
  func add(_ pair: PairProgress)
  func remove(_ pair: PairProgress)
}
