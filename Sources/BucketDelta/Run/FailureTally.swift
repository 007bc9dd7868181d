import Logging
import S3

/// Counts the keys a deep check could not check, by cause, for one pair: the first few of each cause
/// are logged in full, the rest counted (a million keys failing for one reason must not flood the
/// log), and repeated AccessDenied answers to one operation on one side stop the pair, since a
/// permission belongs to the credentials, not to a key (3,000 keys once printed 5,940 ERROR lines).
struct FailureTally {
  /// Keys logged in full per cause.
  static let loggedPerCause = 3
  /// AccessDenied answers to one operation on one side that stop the pair.
  static let deniedLimit = 3

  private var perCause: [String: Int] = [:]
  private var causeOrder: [String] = []
  private var denied: [KeyFailure: (count: Int, firstKey: String)] = [:]

  /// Records an `.error` difference and logs it (or counts it). Returns the failure that stops the
  /// pair, once one operation on one side has been refused `deniedLimit` times.
  mutating func record(_ d: Difference, logger: Logger) -> KeyFailure? {
    let cause = d.failures.isEmpty ? (d.error ?? "") : d.failures.map(\.description).joined(separator: "; ")
    let n = (perCause[cause] ?? 0) + 1
    perCause[cause] = n
    if n == 1 { causeOrder.append(cause) }
    if n <= Self.loggedPerCause {
      logger.error("Deep check failed for key \(d.key): \(d.error ?? "")")
      if n == Self.loggedPerCause {
        logger.error("Further keys failing with the same cause (\(cause)) are counted, not logged")
      }
    }
    var stop: KeyFailure?
    for f in d.failures where f.isAccessDenied {
      let e = denied[f] ?? (0, d.key)
      denied[f] = (e.count + 1, e.firstKey)
      if e.count + 1 >= Self.deniedLimit && stop == nil { stop = f }
    }
    return stop
  }

  /// Whether any AccessDenied has been recorded yet.
  var anyDenied: Bool { !denied.isEmpty }

  /// The first key refused for `f`.
  func firstKey(_ f: KeyFailure) -> String? { denied[f]?.firstKey }

  /// Logs the counts of the causes whose keys were not all logged.
  func logCounts(logger: Logger) {
    for cause in causeOrder {
      let n = perCause[cause] ?? 0
      if n > Self.loggedPerCause {
        logger.error("\(n - Self.loggedPerCause) more keys could not be checked (\(n) in all) because of: \(cause)")
      }
    }
  }
}

/// A pair stopped because its credentials lack a permission: the message names it and the way out.
public struct PermissionStop: Error, CustomStringConvertible {
  public var failure: KeyFailure
  public var bucket: String
  public var endpoint: String
  public var firstKey: String
  public var count: Int

  public var description: String {
    let permission = S3Error.permission(for: failure.operation)
    var s =
      "the \(failure.side) credentials may not \(failure.operation) in bucket '\(bucket)' at \(endpoint): \(count) keys were refused with HTTP 403 AccessDenied (the first: '\(firstKey)'). Grant \(permission) on that bucket to these credentials"
    if failure.operation == "GetObjectTagging" {
      s += ", or compare without tags (compare_object_tags: false, --compare_object_tags false)"
    }
    s += ", then run again with --resume: the checkpoint continues before the first refused key"
    return s
  }
}
