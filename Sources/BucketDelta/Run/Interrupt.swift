import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The signal that asked the run to stop (SIGINT/SIGTERM), 0 while none has. The handler only stores
/// into this atomic and writes one byte to `interruptPipe` (both async-signal-safe); the threads that
/// care load the atomic, and the threads waiting on a condition are woken by the pipe's watcher.
private let interruptFlag = Atomic<Int32>(0)
/// The write end of the self-pipe the handler writes to (-1 until the handlers are installed).
private let interruptPipe = Atomic<Int32>(-1)

/// What the watcher thread calls when a signal arrives (wakes condition waits such as the reorder
/// window's, which would otherwise have to poll the flag).
private let wakers = Mutex<[@Sendable () -> Void]>([])

/// Calls `wake` whenever SIGINT or SIGTERM arrives (from the watcher thread, never from the handler).
public func addInterruptWaker(_ wake: @escaping @Sendable () -> Void) {
  wakers.withLock { $0.append(wake) }
}

/// The signal that asked the run to stop, or 0: the comparison loop checks it, writes a checkpoint and
/// stops; the runner starts no further pair.
public var interruptSignal: Int32 { interruptFlag.load(ordering: .relaxed) }

/// Installs the SIGINT/SIGTERM handlers that set `interruptSignal`, and unblocks both signals (a
/// parent may have started us with them blocked; threads started later inherit this mask).
public func installInterruptHandlers() {
  var fds: [Int32] = [-1, -1]
  if pipe(&fds) == 0 {
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)  // a handler never blocks on a full pipe
    interruptPipe.store(fds[1], ordering: .relaxed)
    let readEnd = fds[0]
    let watcher = Thread {
      var byte: UInt8 = 0
      while true {
        let n = read(readEnd, &byte, 1)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        for wake in wakers.withLock({ $0 }) { wake() }
      }
    }
    watcher.name = "interrupt-watch"
    watcher.start()
  }
  signal(SIGINT) { notifyInterrupt($0) }
  signal(SIGTERM) { notifyInterrupt($0) }
  var set = sigset_t()
  sigemptyset(&set)
  sigaddset(&set, SIGINT)
  sigaddset(&set, SIGTERM)
  pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

/// The signal handler's body: async-signal-safe only (an atomic store and a write).
private func notifyInterrupt(_ signal: Int32) {
  interruptFlag.store(signal, ordering: .relaxed)
  var byte = UInt8(truncatingIfNeeded: signal)
  let fd = interruptPipe.load(ordering: .relaxed)
  if fd >= 0 { _ = write(fd, &byte, 1) }
}

/// The run was stopped by a signal after saving a checkpoint.
public struct Interrupted: Error, CustomStringConvertible {
  public var signal: Int32
  public var description: String {
    "interrupted by signal \(signal); the checkpoint was saved, run again with --resume"
  }
}
