import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The signal that asked the run to stop (SIGINT/SIGTERM), 0 while none has. The handler only stores
/// into this atomic; the threads that care load it.
private let interruptFlag = Atomic<Int32>(0)

/// The signal that asked the run to stop, or 0: the comparison loop checks it, writes a checkpoint and
/// stops; the runner starts no further pair.
public var interruptSignal: Int32 { interruptFlag.load(ordering: .relaxed) }

/// Installs the SIGINT/SIGTERM handlers that set `interruptSignal`, and unblocks both signals (a
/// parent may have started us with them blocked; threads started later inherit this mask).
public func installInterruptHandlers() {
  signal(SIGINT) { interruptFlag.store($0, ordering: .relaxed) }
  signal(SIGTERM) { interruptFlag.store($0, ordering: .relaxed) }
  var set = sigset_t()
  sigemptyset(&set)
  sigaddset(&set, SIGINT)
  sigaddset(&set, SIGTERM)
  pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

/// The run was stopped by a signal after saving a checkpoint.
public struct Interrupted: Error, CustomStringConvertible {
  public var signal: Int32
  public var description: String {
    "interrupted by signal \(signal); the checkpoint was saved, run again with --resume"
  }
}
