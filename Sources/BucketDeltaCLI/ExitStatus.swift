/// The exit codes of bucket-delta, in one place.
public enum ExitStatus: Int32, Sendable {
  /// The comparison finished and the buckets hold the same objects.
  case identical = 0
  /// The comparison finished and found differences.
  case differences = 1
  /// Bad input or an error: the run is incomplete and proves nothing.
  case error = 2
  /// Stopped by SIGINT after saving checkpoints (SIGTERM gives 143); `--resume` continues.
  case interrupted = 130
}
