import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// How a child process ended.
public enum ChildExit: Sendable, CustomStringConvertible {
  case terminated(Int32)
  case signalled(Int32)

  public var description: String {
    switch self {
    case .terminated(let code): return "exit status \(code)"
    case .signalled(let sig):
      return "signal \(sig)\(sig == SIGKILL ? " (SIGKILL)" : sig == SIGSEGV ? " (SIGSEGV)" : "")"
    }
  }
}

/// A child process with its stdin and stdout connected to pipes. Arguments carry no secrets.
public final class ChildProcess: @unchecked Sendable {
  // @unchecked: immutable after init; the fds are used by one thread each.
  public let pid: pid_t
  /// Write end of the child's stdin.
  public let stdin: OwnedDescriptor
  /// Read end of the child's stdout.
  public let stdout: OwnedDescriptor

  private static let spawnLock = NSLock()

  /// Starts `executable` with `arguments`; its stderr is ours. Every signal is unblocked and SIGPIPE,
  /// SIGINT, SIGTERM have their default actions in the child. It gets our environment with
  /// `extraEnvironment` and without the variables named in `withholding`.
  public init(
    executable: String, arguments: [String], extraEnvironment: [String: String], withholding: Set<String> = []
  ) throws {
    // One spawn at a time, so that no child inherits another child's pipe ends between pipe()
    // and FD_CLOEXEC.
    Self.spawnLock.lock()
    defer { Self.spawnLock.unlock() }
    var inPipe: [Int32] = [0, 0]
    var outPipe: [Int32] = [0, 0]
    guard pipe(&inPipe) == 0 else { throw WorkerError("pipe: \(String(cString: strerror(errno)))") }
    guard pipe(&outPipe) == 0 else {
      close(inPipe[0])
      close(inPipe[1])
      throw WorkerError("pipe: \(String(cString: strerror(errno)))")
    }
    for fd in inPipe + outPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)

    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attr, &empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for s in [SIGPIPE, SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaults, s) }
    posix_spawnattr_setsigdefault(&attr, &defaults)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    var env = ProcessInfo.processInfo.environment
    for k in withholding { env[k] = nil }
    for (k, v) in extraEnvironment { env[k] = v }
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for p in argv { free(p) }
      for p in envp { free(p) }
    }
    var child: pid_t = 0
    let rc = posix_spawn(&child, executable, &actions, &attr, argv, envp)
    close(inPipe[0])
    close(outPipe[1])
    guard rc == 0 else {
      close(inPipe[1])
      close(outPipe[0])
      throw WorkerError("cannot start worker \(executable): \(String(cString: strerror(rc)))")
    }
    pid = child
    stdin = OwnedDescriptor(inPipe[1])
    stdout = OwnedDescriptor(outPipe[0])
  }

  /// Waits for the child to end.
  public func wait() -> ChildExit {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    if status & 0x7f == 0 { return .terminated((status >> 8) & 0xff) }
    return .signalled(status & 0x7f)
  }

  public func closeStdin() { stdin.close() }
  public func kill(_ signal: Int32 = SIGKILL) { _ = Glibc.kill(pid, signal) }
}

/// The path of the running executable.
public func currentExecutablePath() -> String {
  (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}
