import Foundation
import S3

#if canImport(Glibc)
  import Glibc
#endif

/// What a pair's checkpoint records: every key up to `lastKey` is decided and its report lines are
/// durably in the first `reportBytes` bytes of the report.
public struct Checkpoint: Codable, Sendable, Equatable {
  public var version = 1
  /// Hash of what defines the comparison; resuming with another configuration is refused.
  public var fingerprint: String
  public var lastKey: String?
  public var reportBytes: Int
  public var objectsProcessed: Int
  public var onlyInSource: Int
  public var onlyInDestination: Int
  public var different: Int
  public var errors: Int
  public var identical: Int? = nil
  public var unverified: Int? = nil
  /// Keys decided per method, as in the summary's `verified_by`.
  public var verifiedBy: [String: Int]? = nil
  public var bytesRead: Int64? = nil
  public var tagFetchesSaved: Int? = nil
  public var changedAfterCutoff: Int? = nil
  public var excluded: Int? = nil
  /// The as-of cutoff the pair is judged against (a resume keeps it, whatever `run_start` is now).
  public var cutoff: Cutoff? = nil
  /// `versions: true`: reported versions per status, and the versions compared.
  public var versionStatuses: [String: Int]? = nil
  public var versionsCompared: Int? = nil
  /// Sides found out of byte order: they are listed whole and sorted again on resume.
  public var sortedSides: [String]
  /// Sides whose key ranges did not join up: listed as one stream again on resume.
  public var singleStreamSides: [String]? = nil
  /// Per side listed as key ranges: where a resume may start listing (see `RangeHandOff`).
  public var rangeHandOffs: [String: RangeHandOff]? = nil
  /// How many times this pair has been resumed.
  public var resumes: Int
  public var updatedAt: String
  /// The process that wrote it: another run's checkpoint is left alone while that process lives.
  public var pid: Int32? = nil

  enum CodingKeys: String, CodingKey {
    case version, fingerprint
    case lastKey = "last_key"
    case reportBytes = "report_bytes"
    case objectsProcessed = "objects_processed"
    case onlyInSource = "only_in_source"
    case onlyInDestination = "only_in_destination"
    case different, errors, identical, unverified
    case verifiedBy = "verified_by"
    case bytesRead = "bytes_read"
    case tagFetchesSaved = "tag_fetches_saved"
    case changedAfterCutoff = "changed_after_cutoff"
    case excluded, cutoff
    case versionStatuses = "version_statuses"
    case versionsCompared = "versions_compared"
    case sortedSides = "sorted_sides"
    case singleStreamSides = "single_stream_sides"
    case rangeHandOffs = "range_hand_offs"
    case resumes
    case updatedAt = "updated_at"
    case pid
  }
}

/// A checkpoint that cannot be used.
public struct CheckpointError: Error, Sendable, CustomStringConvertible, LocalizedError {
  public var description: String
  public init(_ d: String) { description = d }
  public var errorDescription: String? { description }
}

/// Where a pair's checkpoint lives, and how it is read and written (atomically, mode 0600, in a
/// 0700 directory).
public struct CheckpointStore: Sendable {
  public let path: String
  public let fingerprint: String
  /// The pair's name, which starts the checkpoint's file name.
  public let pair: String

  /// The private state directory: `$BUCKET_DELTA_STATE_DIR`, else `$XDG_STATE_HOME/bucket-delta`,
  /// else `~/.local/state/bucket-delta`.
  public static func stateDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let d = environment["BUCKET_DELTA_STATE_DIR"], !d.isEmpty { return d }
    if let x = environment["XDG_STATE_HOME"], !x.isEmpty {
      return (x as NSString).appendingPathComponent("bucket-delta")
    }
    let home = environment["HOME"] ?? NSHomeDirectory()
    return (home as NSString).appendingPathComponent(".local/state/bucket-delta")
  }

  /// The store of the pair named `pair` whose report is `reportPath`.
  public init(directory: String, pair: String, reportPath: String, fingerprint: String) {
    let absolute = URL(fileURLWithPath: reportPath).standardizedFileURL.path
    let tag = Crypto.hex(Crypto.sha256(Array(absolute.utf8))).prefix(12)
    path = (directory as NSString).appendingPathComponent("\(pair)-\(tag).checkpoint")
    self.fingerprint = fingerprint
    self.pair = pair
  }

  /// The checkpoint, or nil when there is none. A file that is not a valid checkpoint is an error.
  public func load() throws(CheckpointError) -> Checkpoint? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CheckpointError("cannot read the checkpoint \(path)")
    }
    guard let cp = try? JSONDecoder().decode(Checkpoint.self, from: data), cp.version == 1, cp.reportBytes >= 0 else {
      throw CheckpointError("the checkpoint \(path) is corrupt; remove it and run without --resume to start over")
    }
    guard cp.fingerprint == fingerprint else {
      throw CheckpointError(
        "the checkpoint \(path) was written for a different configuration (endpoints, buckets, prefixes, check depth, compared fields or report format); run without --resume to start over"
      )
    }
    return cp
  }

  public func save(_ cp: Checkpoint) throws {
    let dir = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(
      atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    try writeAtomically(data: Array(try encoder.encode(cp)) + [0x0A], to: path)
  }

  public func delete() {
    unlink(path)
  }

  /// Deletes this checkpoint and every other one of the same pair name in the directory (written for
  /// other report paths), with the temporary files of interrupted writes: a pair keeps one checkpoint,
  /// not one per attempt (15 were found for one pair after a few tries with different flags). A file
  /// whose writer is still running (a concurrent run of a pair with the same name) is left alone:
  /// deleting it broke that run's next checkpoint ("No such file or directory", seen in CI).
  public func deleteAll() {
    delete()
    let dir = (path as NSString).deletingLastPathComponent
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
    for name in names where Self.isCheckpointFile(name, pair: pair) {
      let file = (dir as NSString).appendingPathComponent(name)
      if let writer = Self.writer(of: name, at: file), writer != getpid(), Self.isRunning(writer) { continue }
      unlink(file)
    }
  }

  /// The pid that wrote a checkpoint file (recorded inside) or a temporary file (its name's suffix).
  static func writer(of name: String, at file: String) -> Int32? {
    if let r = name.range(of: ".checkpoint.tmp-") { return Int32(name[r.upperBound...]) }
    guard let data = FileManager.default.contents(atPath: file) else { return nil }
    return (try? JSONDecoder().decode(Checkpoint.self, from: data))?.pid
  }

  static func isRunning(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

  /// `PAIR-TAG.checkpoint` or `PAIR-TAG.checkpoint.tmp-PID`, TAG 12 hex digits.
  static func isCheckpointFile(_ name: String, pair: String) -> Bool {
    guard name.hasPrefix(pair + "-") else { return false }
    let rest = Array(name.utf8.dropFirst(pair.utf8.count + 1))
    guard rest.count >= 12 + 11, rest[0..<12].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
    else {
      return false
    }
    let tail = String(decoding: rest[12...], as: UTF8.self)
    if tail == ".checkpoint" { return true }
    guard tail.hasPrefix(".checkpoint.tmp-") else { return false }
    let pid = tail.dropFirst(".checkpoint.tmp-".count)
    return !pid.isEmpty && pid.allSatisfy(\.isASCII) && pid.allSatisfy(\.isNumber)
  }

  // MARK: Beside the checkpoint: the finished-pair marker and the last object count

  private var finishedPath: String { path + ".done" }
  private var countPath: String { path + ".count" }

  /// The summary of this pair's finished run with the same configuration (`run --resume` does not
  /// redo a finished pair), or nil.
  public func finishedSummary() -> PairSummary? {
    guard let data = FileManager.default.contents(atPath: finishedPath),
      let done = try? JSONDecoder().decode(FinishedMarker.self, from: data), done.fingerprint == fingerprint
    else { return nil }
    return done.summary
  }

  /// Records that the pair finished with `summary`.
  public func markFinished(_ summary: PairSummary) {
    if let data = try? JSONEncoder().encode(FinishedMarker(fingerprint: fingerprint, summary: summary)) {
      try? writeAtomically(data: Array(data), to: finishedPath)
    }
  }

  /// Forgets that the pair finished (a run that is not a resume does it again).
  public func clearFinished() { unlink(finishedPath) }

  /// The number of objects the pair's last complete run compared (the progress display's estimate).
  public func lastObjectCount() -> Int? {
    FileManager.default.contents(atPath: countPath).flatMap {
      Int(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
  }

  public func saveObjectCount(_ n: Int) {
    try? writeAtomically(data: Array("\(n)\n".utf8), to: countPath)
  }

  /// The fingerprint of a comparison.
  public static func fingerprint(_ parts: [String]) -> String {
    Crypto.hex(Crypto.sha256(Array(parts.joined(separator: "\u{1F}").utf8)))
  }
}

/// Records that a pair finished, so that `run --resume` does not redo it.
private struct FinishedMarker: Codable {
  var fingerprint: String
  var summary: PairSummary
}
