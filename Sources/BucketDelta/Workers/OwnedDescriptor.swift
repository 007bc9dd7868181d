import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A file descriptor with one owner that closes it exactly once. A close asked for while a write is in
/// progress happens when that write returns, so a descriptor number is never closed under a writer and
/// never closed twice (the worker pool once closed a worker's stdin both in `shutdown` and in the
/// reader thread, while a sender could still be writing: a reused number could have been closed or
/// written to in another component's name).
public final class OwnedDescriptor: @unchecked Sendable {
  // @unchecked: `fd`, `writers` and `closing` are guarded by `lock`.
  private let lock = NSLock()
  private var fd: Int32
  private var writers = 0
  private var closing = false

  public init(_ fd: Int32) { self.fd = fd }

  deinit { if fd >= 0 { Glibc.close(fd) } }

  /// The descriptor for a reader that owns reading (nil once closed).
  public var rawValue: Int32? { lock.withLock { fd >= 0 && !closing ? fd : nil } }

  /// Writes all of `bytes`; false once closed or when the write fails (EPIPE: the reader is gone).
  public func write(_ bytes: [UInt8]) -> Bool {
    let target: Int32? = lock.withLock {
      guard fd >= 0, !closing else { return nil }
      writers += 1
      return fd
    }
    guard let target else { return false }
    let ok = writeAll(fd: target, bytes)
    lock.withLock {
      writers -= 1
      if closing && writers == 0 { closeNow() }
    }
    return ok
  }

  /// Closes the descriptor, now or when the write in progress returns. Idempotent.
  public func close() {
    lock.withLock {
      guard fd >= 0, !closing else { return }
      closing = true
      if writers == 0 { closeNow() }
    }
  }

  /// Whether the descriptor has been closed for good.
  public var isClosed: Bool { lock.withLock { fd < 0 } }

  private func closeNow() {  // with `lock` held
    Glibc.close(fd)
    fd = -1
  }
}
