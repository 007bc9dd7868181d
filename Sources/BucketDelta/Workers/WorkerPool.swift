import Foundation
import Logging

#if canImport(Glibc)
  import Glibc
#endif

/// The coordinator's side of the deep-check worker processes.
///
/// Keys go to whichever worker has room (at most `perWorkerInFlight` each); results come back on
/// one reader thread per worker. A sender thread with nothing to send sleeps on its own semaphore and
/// is woken only when it can send (a broadcast to all of them for every key and every result was
/// most of the coordinator's CPU in a deep check). A worker that dies is noticed (EOF on its stdout), its keys go back
/// to the front of the queue for the others, and it is restarted, up to `maxRestarts` times in all.
public final class WorkerPool: @unchecked Sendable {
  // @unchecked: all mutable state is guarded by `condition`.
  private let condition = NSCondition()
  private let executable: String
  private let configLine: [UInt8]
  private let perWorkerInFlight: Int
  /// A worker is refilled (up to `perWorkerInFlight`) once it holds no more than this many keys:
  /// keys go out in batches, not one line, one write and one wake-up per key.
  private var refillBelow: Int { perWorkerInFlight / 2 }
  private let maxRestarts: Int
  private let logger: Logger
  private let onResult: @Sendable (WorkResult) -> Void
  /// Called (on another thread, outside the pool's lock) once `failure` is set.
  private let onFailure: @Sendable () -> Void
  /// Environment variables the workers do not inherit (credentials reach them on stdin only).
  private let withheldEnvironment: Set<String>

  /// The variables that hold AWS credentials wherever the SDKs and CLIs look for them.
  public static let credentialVariables: Set<String> = [
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
  ]

  private final class Slot: @unchecked Sendable {  // guarded by the pool's condition
    let index: Int
    var child: ChildProcess?
    var assigned: [WorkKey: WorkItem] = [:]
    var alive = false
    /// The sender thread's wake-up while it sleeps (`senderAsleep`); signalled at most once per sleep.
    var wake = DispatchSemaphore(value: 0)
    var senderAsleep = false
    init(index: Int) { self.index = index }

    /// Wakes the sender if it sleeps. Call with the pool's lock held.
    func wakeSender() {
      guard senderAsleep else { return }
      senderAsleep = false
      wake.signal()
    }
  }

  private var slots: [Slot] = []
  private var pending: [WorkItem] = []
  private var pendingHead = 0
  private var restarts = 0
  private var stopping = false
  private var threads = 0
  /// Set when the pool cannot go on (workers keep dying, a worker cannot start).
  public private(set) var failure: WorkerError?

  /// - Parameters:
  ///   - withholding: environment variables not passed on to the workers (besides `credentialVariables`):
  ///     the ones a manifest names for its credentials.
  ///   - onResult: called on a reader thread for each finished key.
  public init(
    executable: String = currentExecutablePath(), config: WorkerConfig, processes: Int, perWorkerInFlight: Int,
    maxRestarts: Int, withholding: Set<String> = [], logger: Logger,
    onFailure: @escaping @Sendable () -> Void = {}, onResult: @escaping @Sendable (WorkResult) -> Void
  ) throws {
    self.onFailure = onFailure
    self.executable = executable
    self.withheldEnvironment = Self.credentialVariables.union(withholding)
    let encoder = JSONEncoder()
    self.configLine = Array(try encoder.encode(config)) + [0x0A]
    self.perWorkerInFlight = max(1, perWorkerInFlight)
    self.maxRestarts = maxRestarts
    self.logger = logger
    self.onResult = onResult
    for i in 0..<max(1, processes) { slots.append(Slot(index: i)) }
  }

  /// Starts every worker.
  public func start() throws {
    for slot in slots { try launch(slot) }
  }

  /// Queues a key for a deep check (never blocks; the caller bounds what is in flight).
  public func submit(_ item: WorkItem) {
    condition.lock()
    pending.append(item)
    // One sleeping sender with room is enough: it takes every pending key it has room for.
    slots.first { $0.senderAsleep && $0.assigned.count <= refillBelow }?.wakeSender()
    condition.unlock()
  }

  /// Stops the workers: closes their stdin (they exit on EOF), kills what is left, reaps them.
  public func shutdown() {
    condition.lock()
    stopping = true
    let children = slots.compactMap(\.child)
    for slot in slots { slot.wakeSender() }
    condition.broadcast()
    condition.unlock()
    for c in children { c.closeStdin() }
    condition.lock()
    let deadline = Date().addingTimeInterval(5)
    while threads > 0 && Date() < deadline { _ = condition.wait(until: deadline) }
    let stragglers = slots.filter(\.alive).compactMap(\.child)
    condition.unlock()
    for c in stragglers { c.kill() }
  }

  // MARK: - Internals

  private func launch(_ slot: Slot) throws {
    let child = try ChildProcess(
      executable: executable, arguments: ["__worker"], extraEnvironment: ["SWIFT_BACKTRACE": "enable=no"],
      withholding: withheldEnvironment)
    guard child.stdin.write(configLine) else {
      child.kill()
      _ = child.wait()
      throw WorkerError("worker \(slot.index) (pid \(child.pid)) did not accept its configuration")
    }
    condition.lock()
    slot.wakeSender()  // a sender of the previous child, if any, sees the new child and ends
    slot.child = child
    slot.alive = true
    slot.wake = DispatchSemaphore(value: 0)
    threads += 2
    condition.unlock()
    logger.debug("Worker \(slot.index) started (pid \(child.pid))")
    let sender = Thread { [self] in self.sendLoop(slot, child) }
    sender.name = "worker-\(slot.index)-send"
    sender.start()
    let reader = Thread { [self] in self.readLoop(slot, child) }
    reader.name = "worker-\(slot.index)-read"
    reader.start()
  }

  private func threadDone() {
    threads -= 1
    condition.broadcast()
  }

  private func sendLoop(_ slot: Slot, _ child: ChildProcess) {
    condition.lock()
    defer {
      threadDone()
      condition.unlock()
    }
    while true {
      while !stopping && slot.child === child && slot.alive
        && (pendingHead >= pending.count || slot.assigned.count > refillBelow)
      {
        slot.senderAsleep = true
        let wake = slot.wake
        condition.unlock()
        wake.wait()
        condition.lock()
      }
      guard !stopping, slot.child === child, slot.alive else { return }
      var batch: [WorkItem] = []
      while pendingHead < pending.count && slot.assigned.count < perWorkerInFlight && batch.count < 64 {
        let item = pending[pendingHead]
        pendingHead += 1
        slot.assigned[WorkKey(pair: item.pair, seq: item.seq)] = item
        batch.append(item)
      }
      if pendingHead > 4096 {
        pending.removeFirst(pendingHead)
        pendingHead = 0
      }
      condition.unlock()
      let ok = child.stdin.write(WorkBatch(items: batch).line + [0x0A])
      condition.lock()
      if !ok { return }  // the reader sees the EOF and hands the keys on
    }
  }

  private func readLoop(_ slot: Slot, _ child: ChildProcess) {
    let decoder = JSONDecoder()
    let reader = LineReader(fd: child.stdout.rawValue ?? -1)
    var protocolError: String?
    while let line = reader.next() {
      guard let result = try? WorkResult.parse(line: line, decoder: decoder) else {
        protocolError = "unreadable message from worker \(slot.index)"
        child.kill()
        break
      }
      condition.lock()
      let known = slot.assigned.removeValue(forKey: WorkKey(pair: result.pair, seq: result.seq)) != nil
      if pendingHead < pending.count && slot.assigned.count <= refillBelow { slot.wakeSender() }
      condition.unlock()
      if known { onResult(result) }
    }
    child.stdout.close()
    let exit = child.wait()
    child.stdin.close()
    condition.lock()
    defer {
      threadDone()
      condition.unlock()
    }
    slot.alive = false
    slot.wakeSender()
    let orphaned = slot.assigned.values.sorted { ($0.pair, $0.seq) < ($1.pair, $1.seq) }
    slot.assigned.removeAll()
    // A pool that is shutting down restarts nobody: a worker started now would hold no closed stdin and
    // keep `shutdown` waiting until its deadline (seen: 5 s at the end of interrupted runs).
    if stopping { return }
    // Hand the keys back, first in line.
    pending.replaceSubrange(pendingHead..<pendingHead, with: orphaned)
    for other in slots where other.assigned.count <= refillBelow { other.wakeSender() }
    let reason = protocolError ?? "\(exit)"
    if restarts >= maxRestarts {
      failure = WorkerError(
        "worker \(slot.index) (pid \(child.pid)) ended with \(reason), and workers have been restarted \(restarts) times already: giving up"
      )
      logger.error("\(failure!.description)")
      Thread(block: onFailure).start()  // not under our lock: the waker takes other locks
      return
    }
    restarts += 1
    logger.warning(
      "Worker \(slot.index) (pid \(child.pid)) ended with \(reason) holding \(orphaned.count) keys; they go to other workers, and the worker is restarted (restart \(restarts) of at most \(maxRestarts))"
    )
    condition.unlock()
    do {
      try launch(slot)
    } catch {
      condition.lock()
      failure = WorkerError("cannot restart worker \(slot.index): \(error)")
      Thread(block: onFailure).start()
      return
    }
    condition.lock()
  }

  /// Pipe ends to workers not closed yet (0 after `shutdown`: each is closed once by its owner).
  var openPipeEnds: Int {
    condition.withLock {
      slots.compactMap(\.child).reduce(0) { $0 + ($1.stdin.isClosed ? 0 : 1) + ($1.stdout.isClosed ? 0 : 1) }
    }
  }

  /// Restarts so far.
  public var restartCount: Int { condition.withLock { restarts } }
}

/// Identifies a key in flight across pairs.
struct WorkKey: Hashable {
  var pair: Int
  var seq: Int
}
