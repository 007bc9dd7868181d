#if canImport(Glibc)
  import Glibc
#endif

/// Reads `\n`-terminated lines from a raw file descriptor (blocking; use on a dedicated thread).
public final class LineReader {
  private let fd: Int32
  private var buffer: [UInt8] = []
  private var start = 0
  private var eof = false
  /// Longer lines are an error (a worker never sends them).
  public let maxLineBytes: Int

  public init(fd: Int32, maxLineBytes: Int = 64 << 20) {
    self.fd = fd
    self.maxLineBytes = maxLineBytes
    buffer.reserveCapacity(1 << 16)
  }

  /// The next line without its newline, or nil at end of input (a partial last line is dropped).
  public func next() -> [UInt8]? {
    while true {
      if let nl = buffer[start...].firstIndex(of: 0x0A) {
        let line = Array(buffer[start..<nl])
        start = nl + 1
        if start > 1 << 16 {
          buffer.removeFirst(start)
          start = 0
        }
        return line
      }
      if eof || buffer.count - start > maxLineBytes { return nil }
      var chunk = [UInt8](repeating: 0, count: 1 << 16)
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 {
        eof = true
        continue
      }
      buffer.append(contentsOf: chunk[0..<n])
    }
  }
}

/// Writes all of `bytes` to `fd`; false when the other end is gone.
@discardableResult
public func writeAll(fd: Int32, _ bytes: [UInt8]) -> Bool {
  var offset = 0
  while offset < bytes.count {
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
    if n < 0 {
      if errno == EINTR { continue }
      return false
    }
    offset += n
  }
  return true
}
