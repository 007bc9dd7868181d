import BucketDelta

/// The exit codes of bucket-delta, in one place.
public enum ExitStatus: Int32, Sendable {
  /// The comparison finished and the buckets hold the same objects.
  case identical = 0
  /// The comparison finished and found differences.
  case differences = 1
  /// Bad input or an error: the run is incomplete and proves nothing.
  case error = 2
  /// The comparison finished and found nothing different, but not every object could be proven
  /// identical at the level asked for (`unverified` keys in the report).
  case unverified = 3
  /// Stopped by SIGINT after saving checkpoints (SIGTERM gives 143); `--resume` continues.
  case interrupted = 130

  /// The process exit status of a run's outcome: the only place outcomes become numbers.
  @Sendable static func code(for outcome: RunOutcome) -> Int32 {
    switch outcome {
    case .interrupted(let signal): return 128 + signal
    case .finished(let status):
      switch status {
      case .identical, .empty: return identical.rawValue  // a failing empty pair makes the run .error
      case .different: return differences.rawValue
      case .unverified: return unverified.rawValue
      case .error: return error.rawValue
      }
    }
  }

  /// The process exit status of a worker's end.
  static func code(for end: DeepCheckWorker.End) -> Int32 {
    switch end {
    case .done: return identical.rawValue
    case .badInput: return error.rawValue
    }
  }
}
