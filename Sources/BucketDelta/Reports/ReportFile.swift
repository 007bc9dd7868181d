import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A report file written through a buffer, created with mode 0600 when its first bytes are written
/// or when it is closed: a run that fails before deciding anything leaves no empty report behind.
public final class ReportFile {
  public let path: String
  /// -1 until the file is opened (at once when resuming, else at the first write or at `close`).
  private var fd: Int32 = -1
  private var buffer: [UInt8] = []
  /// Bytes handed to `write` so far (buffered or not), counted from the start of the file.
  public private(set) var length: Int = 0

  /// Creates (or truncates) the file at `path`; with `keepingFirst`, keeps that many bytes of an
  /// existing report (what a checkpoint vouches for) and drops the rest.
  public init(path: String, keepingFirst kept: Int? = nil) throws(ReportError) {
    self.path = path
    buffer.reserveCapacity(1 << 16)
    if let kept {
      guard path != Self.standardOutput else {
        throw ReportError(
          path: path, reason: "a report written to standard output cannot be resumed; run without --resume")
      }
      fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
      guard fd >= 0 else { throw ReportError(path: path, reason: String(cString: strerror(errno))) }
      var st = stat()
      guard fstat(fd, &st) == 0 else { throw ReportError(path: path, reason: String(cString: strerror(errno))) }
      guard Int(st.st_size) >= kept else {
        Glibc.close(fd)
        fd = -1
        throw ReportError(
          path: path,
          reason:
            "it has \(st.st_size) bytes but the checkpoint vouches for \(kept): the report was truncated or replaced, so the run cannot be resumed; run without --resume to start over"
        )
      }
      guard ftruncate(fd, off_t(kept)) == 0, lseek(fd, 0, SEEK_END) >= 0 else {
        throw ReportError(path: path, reason: String(cString: strerror(errno)))
      }
      length = kept
    }
  }

  /// The path that stands for standard output (`--output_file -`).
  public static let standardOutput = "-"

  /// Creates (truncates) the file on first use.
  private func openIfNeeded() throws(ReportError) {
    guard fd < 0 else { return }
    if path == Self.standardOutput {
      fd = dup(1)  // our own descriptor: closing it leaves standard output open
      guard fd >= 0 else { throw ReportError(path: path, reason: String(cString: strerror(errno))) }
      return
    }
    fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ReportError(path: path, reason: String(cString: strerror(errno))) }
  }

  /// Writes out the buffer and syncs the file, so that `length` bytes are durable.
  public func sync() throws(ReportError) {
    try flush()
    if fd < 0 { return }  // nothing written yet: no file, nothing to make durable
    if fsync(fd) != 0 && errno != EINVAL {
      throw ReportError(path: path, reason: String(cString: strerror(errno)))
    }
  }

  deinit { if fd >= 0 { Glibc.close(fd) } }

  public func write(_ line: String) throws(ReportError) {
    buffer.append(contentsOf: line.utf8)
    length += line.utf8.count
    if buffer.count >= 1 << 16 { try flush() }
  }

  /// Writes out the buffer.
  public func flush() throws(ReportError) {
    if buffer.isEmpty { return }
    try openIfNeeded()
    guard writeAll(fd: fd, buffer) else {
      throw ReportError(path: path, reason: String(cString: strerror(errno)))
    }
    buffer.removeAll(keepingCapacity: true)
  }

  /// Flushes, syncs to disk and closes.
  public func close() throws(ReportError) {
    try flush()
    try openIfNeeded()  // a finished comparison leaves its report, empty or not
    if fsync(fd) != 0 && errno != EINVAL {
      throw ReportError(path: path, reason: String(cString: strerror(errno)))
    }
    Glibc.close(fd)
    fd = -1
  }
}

/// The report file cannot be written.
public struct ReportError: Error, Sendable, LocalizedError, CustomStringConvertible {
  public var path: String
  public var reason: String
  public var description: String { "cannot write report file \(path): \(reason)" }
  public var errorDescription: String? { description }
}
