import Foundation
import Logging
import S3
import Synchronization
import Testing

@testable import BucketDelta

/// A worker configuration of one pair whose endpoint nobody listens on (every check fails at once).
func unreachableWorkerConfig(connections: Int) throws -> WorkerConfig {
  let endpoint = EndpointConfig(
    name: "e", url: "http://127.0.0.1:1", endpoint: try S3Endpoint(url: "http://127.0.0.1:1"),
    credentials: Credentials(accessKeyID: "k", secretAccessKey: "s"))
  let side = WorkerSide(endpoint: endpoint, bucket: "b", prefix: "")
  return WorkerConfig(
    pairs: [WorkerPair(source: side, destination: side, compareTags: false, verify: .checksum)],
    numConnections: connections,
    maxAttempts: 1, logLevel: .ERROR)
}

@Suite("Worker pipes: one owner per descriptor")
struct WorkerPipeTests {
  // The coordinator ignores SIGPIPE (BucketDeltaMain); this test process must too, or a write to a
  // worker that has already exited (EPIPE, which the pool handles) kills it.
  init() { signal(SIGPIPE, SIG_IGN) }

  @Test("OwnedDescriptor: closed once, writes after close refused, a close during a write waits for it")
  func ownedDescriptor() throws {
    var fds: [Int32] = [0, 0]
    try #require(pipe(&fds) == 0)
    let reader = fds[0]
    let w = OwnedDescriptor(fds[1])
    #expect(w.write(Array("a\n".utf8)))
    w.close()
    w.close()  // idempotent: the number is not closed a second time
    #expect(w.isClosed)
    #expect(!w.write(Array("b\n".utf8)))
    // the reader sees exactly what was written, then EOF
    var buf = [UInt8](repeating: 0, count: 16)
    #expect(read(reader, &buf, 16) == 2)
    #expect(read(reader, &buf, 16) == 0)
    close(reader)

    // a write blocked on a full pipe: close() returns at once, the descriptor closes when the write ends
    try #require(pipe(&fds) == 0)
    let blocked = OwnedDescriptor(fds[1])
    let big = [UInt8](repeating: 0x41, count: 1 << 20)  // more than a pipe holds
    let done = DispatchSemaphore(value: 0)
    Thread {
      _ = blocked.write(big)
      done.signal()
    }.start()
    usleep(100_000)
    blocked.close()
    #expect(!blocked.isClosed, "closed under a writer")
    var drained = 0
    while drained < big.count {
      let n = read(fds[0], &buf, buf.count)
      if n <= 0 { break }
      drained += n
    }
    done.wait()
    #expect(drained == big.count)
    #expect(blocked.isClosed)
    close(fds[0])
  }

  @Test(
    "30 worker pools started, fed and shut down while another thread keeps opening files: no descriptor of that thread is closed, none leaks, no shutdown waits"
  )
  func poolsUnderLoad() throws {
    let binary = try toolPath()
    let config = try unreachableWorkerConfig(connections: 2)
    // The canary thread: holds descriptors it opened and checks they stay open until it closes them.
    let stop = Atomic<Bool>(false)
    let lost = Atomic<Int>(0)
    let opened = Atomic<Int>(0)
    let canaryDone = DispatchSemaphore(value: 0)
    Thread {
      while !stop.load(ordering: .relaxed) {
        var held: [Int32] = []
        for _ in 0..<8 {
          let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
          if fd >= 0 { held.append(fd) }
        }
        opened.add(held.count, ordering: .relaxed)
        usleep(200)
        for fd in held {
          if fcntl(fd, F_GETFD) == -1 { lost.add(1, ordering: .relaxed) } else { close(fd) }
        }
      }
      canaryDone.signal()
    }.start()
    let results = Atomic<Int>(0)
    var slowestShutdown = 0.0
    var leaked = 0
    for round in 0..<30 {
      let pool = try WorkerPool(
        executable: binary, config: config, processes: 3, perWorkerInFlight: 4, maxRestarts: 3,
        logger: Logger(label: "test")
      ) { _ in results.add(1, ordering: .relaxed) }
      try pool.start()
      for seq in 0..<(round % 3 == 0 ? 0 : 20) { pool.submit(WorkItem(pair: 0, seq: seq, key: "k\(seq)")) }
      if round == 1 {  // once, wait for the answers: the workers do check keys
        let end = Date().addingTimeInterval(30)
        while results.load(ordering: .relaxed) < 20 && Date() < end { usleep(10_000) }
      } else if round % 2 == 0 {
        usleep(20_000)
      }
      let t = Date()
      pool.shutdown()
      slowestShutdown = max(slowestShutdown, Date().timeIntervalSince(t))
      leaked += pool.openPipeEnds
    }
    stop.store(true, ordering: .relaxed)
    canaryDone.wait()
    #expect(opened.load(ordering: .relaxed) > 1000)
    #expect(lost.load(ordering: .relaxed) == 0, "descriptors of another thread were closed under it")
    #expect(leaked == 0, "\(leaked) pipe ends to workers left open after shutdown")
    #expect(results.load(ordering: .relaxed) >= 20, "the workers answered")
    // Shutting down with keys in flight restarts no worker (one started then kept shutdown waiting 5 s).
    #expect(slowestShutdown < 2, "the slowest shutdown took \(slowestShutdown) s")
  }
}

// No time limit trait: Swift Testing counts it from when the test is scheduled, and in the full suite
// other tests' blocking waits kept these from starting for over 60 s (the tests take 0.3 s).
@Suite("Waking the reorder window")
struct WakeTests {
  init() { signal(SIGPIPE, SIG_IGN) }  // as the coordinator does: the dying workers' pipes raise EPIPE

  @Test("Workers that keep dying: the pool fails and its failure hook runs, at once")
  func poolFailureHook() throws {
    let config = try unreachableWorkerConfig(connections: 1)
    let failed = DispatchSemaphore(value: 0)
    // a worker that reads its configuration and exits: every restart dies again. (/bin/false was used
    // at first: when it exited before the configuration was written, start() failed and nothing
    // restarted, so the test depended on timing.)
    let script = try temporaryDirectory().appendingPathComponent("dying-worker").path
    try "#!/bin/sh\nread line\nexit 1\n".write(toFile: script, atomically: true, encoding: .utf8)
    chmod(script, 0o755)
    let pool = try WorkerPool(
      executable: script, config: config, processes: 2, perWorkerInFlight: 2, maxRestarts: 3,
      logger: Logger(label: "test"), onFailure: { failed.signal() }, onResult: { _ in })
    try pool.start()
    #expect(failed.wait(timeout: .now() + 20) == .success)
    #expect(
      pool.failure?.description.contains("giving up") == true
        || pool.failure?.description.contains("cannot restart") == true)
    pool.shutdown()
  }

  @Test("A take() waiting for results returns as soon as a failure is set and the window is woken")
  func wakeEndsWait() throws {
    let window = ReorderWindow(firstSeq: 0)
    let o = ListedObject(key: "k", etag: "e", size: 1, lastModified: "")
    window.add(seq: 0, event: .inBoth(source: o, destination: o), outcome: nil)  // a deep check that never answers
    final class Box: @unchecked Sendable {  // @unchecked: `error` is guarded by `lock`
      let lock = NSLock()
      var error: Error?
    }
    let failure = Box()
    let started = Date()
    Thread {  // a thread of its own: the test must not depend on a dispatch queue getting a thread
      usleep(300_000)
      failure.lock.withLock { failure.error = WorkerError("boom") }
      window.wake()
    }.start()
    #expect(throws: WorkerError.self) {
      _ = try window.take(untilBelow: 1) { failure.lock.withLock { failure.error } }
    }
    #expect(Date().timeIntervalSince(started) < 5)
  }
}
