import Foundation
import S3

/// How a pair (or a whole run) ended: the one list the summary, JUnit and metrics read.
public enum PairStatus: String, Codable, Sendable, CaseIterable {
  case identical, different
  /// Complete and nothing different, but some keys could not be proven identical at the level asked for.
  case unverified
  /// Both listings were empty: nothing was compared. A failure unless the pair allows it
  /// (`allow_empty`); then `PairSummary.error` is nil.
  case empty
  case error
}

extension PairStatus {
  /// The verdict of a completed comparison from its counts: one rule for a pair's run and for the merge of
  /// its shards (`differences` counts errors too or not: errors decide first).
  public static func verdict(errors: Int, differences: Int, unverified: Int) -> PairStatus {
    errors > 0 ? .error : differences > 0 ? .different : unverified > 0 ? .unverified : .identical
  }

  /// The `error` of a pair some of whose keys could not be checked.
  static func keysNotChecked(_ n: Int) -> String { "\(n) keys could not be checked (see the report)" }
}

/// How a run ended, for the one place that maps it to a process exit status (the CLI's `ExitStatus`).
public enum RunOutcome: Sendable, Equatable {
  /// Every pair was run (or failed); the status of the whole run.
  case finished(PairStatus)
  /// Stopped by a signal after saving checkpoints.
  case interrupted(signal: Int32)
}

/// The outcome of one pair in the JSON summary (`schemas/summary.schema.json`).
public struct PairSummary: Codable, Sendable {
  public var name: String
  public var status: PairStatus
  public var check: String
  public var source: String
  public var destination: String
  public var objects_compared: Int
  public var only_in_source: Int
  public var only_in_destination: Int
  public var different: Int
  /// Keys proven identical.
  public var identical: Int = 0
  /// Keys of equal size whose content nothing at the pair's `verify` level could decide.
  public var unverified: Int = 0
  /// The pair's verification level.
  public var verify: String = VerifyLevel.etag.rawValue
  /// Keys decided per method (`listing`, `size`, `etag`, `checksum:CRC32`, ...).
  public var verified_by: [String: Int] = [:]
  /// Bytes read from the buckets to compare content.
  public var bytes_read: Int64 = 0
  /// GetObjectTagging requests not sent because both HEADs said "no tags" (`tagging_count_header`).
  public var tag_fetches_saved: Int = 0
  /// HTTP requests per object compared (listings included).
  public var requests_per_object: Double = 0
  /// Keys not judged because a side changed after the as-of cutoff (they do not fail the run).
  public var changed_after_cutoff: Int = 0
  /// Keys left out by the pair's filters.
  public var excluded: Int = 0
  /// `[seconds since the pair started, objects compared]`, sampled every 2 s and at the end.
  public var progress_series: [[Double]]?
  /// The as-of cutoff the pair was judged against (RFC 3339, UTC); absent without one.
  public var as_of: String?
  /// The filter rules in order (`include PATTERN` / `exclude PATTERN`); absent without any.
  public var filters: [String]?
  /// Deep-check fields left out (`ignore`); absent without any.
  public var ignored_fields: [String]?
  /// `versions: true`: the versions (and delete markers) compared on both sides, and the versions reported
  /// per status (`version_missing_in_destination`, ...).
  public var versions_compared: Int?
  public var version_differences: [String: Int]?
  /// Each side's versioning state (`Enabled`, `Suspended`, `Unversioned`), where the server told it.
  public var versioning: [String: String]?
  public var errors: Int
  public var duration_seconds: Double
  public var objects_per_second: Double
  public var report: String
  public var sorted_listings: [String]
  public var worker_restarts: Int
  /// How many times the pair was resumed from a checkpoint.
  public var resumed: Int
  /// HTTP requests this run sent for the pair (listings and deep checks), retries included.
  public var requests: Int
  /// Requests that were repeated attempts after a failure.
  public var retries: Int
  /// Answers that asked to slow down (503 SlowDown, 429).
  public var throttled: Int
  /// Why the pair failed: set for `error`, and for `empty` when empty listings are not allowed.
  public var error: String?
  /// What a person should see that did not change the verdict (nil when there is nothing).
  public var warnings: [String]?
  /// A shard's run: per side listed in the server's order, where it met its neighbours (`merge` checks).
  public var shard_edges: [String: ShardEdges]?

  /// Whether this pair fails the run (exit 2).
  public var failed: Bool { status == .error || (status == .empty && error != nil) }
}

/// The JSON summary of a run.
public struct RunSummary: Codable, Sendable {
  public var version = 1
  public var tool_version: String
  public var started_at: String
  public var finished_at: String
  /// `error` if a pair failed, else `different` if one differs, else `unverified` if one is, `empty` if
  /// every pair was (allowed to be) empty, else `identical`.
  public var status: PairStatus
  public var exit_code: Int32
  public var pairs: [PairSummary]
  /// Set by a run stopped by a signal (its checkpoints are saved; `--resume` continues).
  public var interrupted: Bool?
  /// A shard's run: which shard of which plan (`run --plan --shard`).
  public var shard: ShardMark?
  /// A merged run: each shard's outcome (`merge`).
  public var shards: [ShardOutcome]?

  /// The status of a run of `expected` pairs whose finished pairs are `pairs`: `error` if one failed or
  /// is missing, else `different`, `unverified`, `empty` (all), `identical`.
  public static func status(of pairs: [PairSummary], expected: Int) -> PairStatus {
    pairs.contains(where: \.failed) || pairs.count < expected
      ? .error
      : pairs.contains { $0.status == .different }
        ? .different
        : pairs.contains { $0.status == .unverified }
          ? .unverified : !pairs.isEmpty && pairs.allSatisfy { $0.status == .empty } ? .empty : .identical
  }

  /// Writes the summary atomically (temp file, fsync, rename), mode 0600.
  public func write(to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    var data = try encoder.encode(self)
    data.append(0x0A)
    try writeAtomically(data: Array(data), to: path)
  }
}

/// Writes `data` to a temporary file beside `path`, syncs it, and renames it over `path` (mode 0600
/// unless told otherwise: node_exporter must be able to read a metrics file).
public func writeAtomically(data: [UInt8], to path: String, mode: mode_t = 0o600) throws {
  let tmp = path + ".tmp-\(getpid())"
  let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
  guard fd >= 0 else { throw ReportError(path: tmp, reason: String(cString: strerror(errno))) }
  let ok = writeAll(fd: fd, data) && fchmod(fd, mode) == 0 && fsync(fd) == 0
  close(fd)
  guard ok, rename(tmp, path) == 0 else {
    unlink(tmp)
    throw ReportError(path: path, reason: String(cString: strerror(errno)))
  }
}

/// ISO 8601 UTC timestamp with seconds (`2026-11-26T04:40:00Z`), from `gmtime_r`: an
/// ISO8601DateFormatter loads ICU on first use, 5% of a 20,000-object shallow check's CPU.
func isoTimestamp(_ date: Date) -> String {
  let a = AMZDate(date).timestamp  // YYYYMMDDTHHMMSSZ
  let c = Array(a.utf8)
  func part(_ r: Range<Int>) -> String { String(decoding: c[r], as: UTF8.self) }
  return "\(part(0..<4))-\(part(4..<6))-\(part(6..<8))T\(part(9..<11)):\(part(11..<13)):\(part(13..<15))Z"
}
