#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Foundation

/// A report file written through a buffer, created with mode 0600.
public final class ReportFile {
  public let path: String
  private var fd: Int32
  private var buffer: [UInt8] = []
  /// Bytes handed to `write` so far (buffered or not), counted from the start of the file.
  public private(set) var length: Int = 0

  /// Creates (or truncates) the file at `path`.
  public init(path: String) throws(ReportError) {
    self.path = path
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ReportError(path: path, reason: String(cString: strerror(errno))) }
    buffer.reserveCapacity(1 << 16)
  }

  deinit { if fd >= 0 { Glibc.close(fd) } }

  public func write(_ line: String) throws(ReportError) {
    buffer.append(contentsOf: line.utf8)
    length += line.utf8.count
    if buffer.count >= 1 << 16 { try flush() }
  }

  /// Writes out the buffer.
  public func flush() throws(ReportError) {
    var offset = 0
    while offset < buffer.count {
      let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n < 0 {
        if errno == EINTR { continue }
        throw ReportError(path: path, reason: String(cString: strerror(errno)))
      }
      offset += n
    }
    buffer.removeAll(keepingCapacity: true)
  }

  /// Flushes, syncs to disk and closes.
  public func close() throws(ReportError) {
    try flush()
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
