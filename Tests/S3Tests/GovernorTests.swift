import Foundation
import Logging
import Testing

@testable import S3

/// A server that can serve `capacity` requests at once and answers `503 SlowDown` to any request
/// beyond that; answers take `serviceTime`, like a real one.
final class CapacityServer: HTTPTransport, @unchecked Sendable {
  private let lock = NSLock()
  private var inFlight = 0
  private(set) var served = 0
  private(set) var throttled = 0
  let capacity: Int
  let serviceTime: Double

  init(capacity: Int, serviceTime: Double) {
    self.capacity = capacity
    self.serviceTime = serviceTime
  }

  func send(_ request: HTTPRequest) -> Result<HTTPResponse, TransportError> {
    let accepted: Bool = lock.withLock {
      if inFlight >= capacity {
        throttled += 1
        return false
      }
      inFlight += 1
      return true
    }
    guard accepted else {
      return .success(
        HTTPResponse(
          status: 503, headers: [], body: Array("<Error><Code>SlowDown</Code><Message>m</Message></Error>".utf8)))
    }
    Thread.sleep(forTimeInterval: serviceTime)  // the request is served while the caller waits
    lock.withLock {
      inFlight -= 1
      served += 1
    }
    return .success(HTTPResponse(status: 200, headers: [("etag", "\"e\""), ("content-length", "1")], body: []))
  }
}

/// A clock that only moves when someone sleeps.
final class VirtualClock: @unchecked Sendable {
  private let lock = NSLock()
  private var t = 1000.0
  var now: Double { lock.withLock { t } }
  func sleep(_ d: Double) { lock.withLock { t += max(0, d) } }
}

@Suite("Request governor: AIMD concurrency and the rate cap")
struct GovernorTests {
  /// 12 threads, 30 HEADs each, against a server that takes 3 at a time.
  /// `limitUnderLoad`: the governor's limit when the first thread finishes, i.e. while all 12 still
  /// pressed on the server (once threads run out, the few left are never refused and it climbs).
  private func hammer(governor: RequestGovernor?) throws -> (
    server: CapacityServer, stats: RequestCounts, limitUnderLoad: Int?
  ) {
    let server = CapacityServer(capacity: 3, serviceTime: 0.004)
    var options = ClientOptions()
    // A budget no starved thread exhausts, even on a loaded machine: the test compares refusals, not give-ups.
    options.retry = RetryPolicy(maxAttempts: 1000, baseDelay: 0.001, maxDelay: 0.004)
    options.governor = governor
    let client = S3Client(
      endpoint: try S3Endpoint(url: "http://127.0.0.1:1", region: "us-east-1", addressing: .path),
      credentials: Credentials(accessKeyID: "AK", secretAccessKey: "SK"), transport: server, options: options,
      logger: Logger(label: "test"))
    let group = DispatchGroup()
    let failures = SleepLog()
    let firstDone = SleepLog()
    for _ in 0..<12 {
      group.enter()
      Thread {
        for i in 0..<30 {
          do { _ = try client.headObject(bucket: "b", key: "k\(i)") } catch { failures.add(1) }
        }
        firstDone.addFirst(Double(governor?.currentLimit ?? 0))
        group.leave()
      }.start()
    }
    group.wait()
    #expect(failures.delays.isEmpty, "\(failures.delays.count) requests failed")
    return (server, client.stats.counts, governor == nil ? nil : firstDone.delays.first.map { Int($0) })
  }

  @Test("Throttled by a server that takes 3 requests at a time, 12 threads settle near 3 in flight")
  func aimdConverges() throws {
    let unguarded = try hammer(governor: nil)
    let governor = RequestGovernor(maxConcurrency: 12)
    let guarded = try hammer(governor: governor)
    #expect(guarded.server.served == 360 && unguarded.server.served == 360)
    // Without the governor most attempts are refused; with it only the probes above capacity are.
    let rejectedShareUnguarded = Double(unguarded.server.throttled) / Double(unguarded.stats.requests)
    let rejectedShareGuarded = Double(guarded.server.throttled) / Double(guarded.stats.requests)
    #expect(rejectedShareGuarded < 0.25, "guarded: \(guarded.server.throttled) of \(guarded.stats.requests) refused")
    #expect(
      rejectedShareUnguarded > 2 * rejectedShareGuarded,
      "unguarded \(rejectedShareUnguarded), guarded \(rejectedShareGuarded)")
    #expect(governor.decreases > 0)
    let limit = try #require(guarded.limitUnderLoad)
    #expect(limit <= 6, "limit \(limit) while all threads ran")
    #expect(guarded.stats.throttled == guarded.server.throttled)
    print(
      "AIMD: refused without governor \(unguarded.server.throttled)/\(unguarded.stats.requests), with \(guarded.server.throttled)/\(guarded.stats.requests), decreases \(governor.decreases), limit under load \(limit), final limit \(governor.currentLimit)"
    )
  }

  @Test("After throttling stops the limit climbs back to the maximum (additive increase)")
  func recovers() {
    let g = RequestGovernor(maxConcurrency: 8)
    let t = g.acquire()
    g.release(t, .throttled)
    #expect(g.currentLimit == 4)
    // Requests started before the decrease do not decrease it again.
    let stale = g.acquire()
    let t2 = g.acquire()
    g.release(t2, .throttled)
    #expect(g.currentLimit == 2)
    g.release(stale, .throttled)
    #expect(g.currentLimit == 2)
    var successes = 0
    while g.currentLimit < 8 {
      let x = g.acquire()
      g.release(x, .success)
      successes += 1
      if successes > 1000 { break }
    }
    #expect(g.currentLimit == 8)
    // About limit successes per step up: 2 + 3 + ... + 7 = 27, give or take rounding.
    #expect((20...40).contains(successes), "\(successes) successes")
  }

  @Test("The concurrency limit is enforced: a third acquire waits until a release")
  func blocksAtLimit() {
    let g = RequestGovernor(maxConcurrency: 2)
    let a = g.acquire()
    _ = g.acquire()
    let got = SleepLog()
    Thread {
      _ = g.acquire()
      got.add(1)
    }.start()
    usleep(100_000)
    #expect(got.delays.isEmpty)
    g.release(a, .success)
    for _ in 0..<100 where got.delays.isEmpty { usleep(10_000) }
    #expect(got.delays.count == 1)
  }

  @Test("The rate cap spaces request starts 1/rate apart: 10/s for 100 requests takes 9.9 virtual seconds")
  func rateCap() {
    let clock = VirtualClock()
    let g = RequestGovernor(maxConcurrency: 4, maxRequestsPerSecond: 10, now: { clock.now }, sleep: { clock.sleep($0) })
    var starts: [Double] = []
    for _ in 0..<100 {
      let t = g.acquire()
      starts.append(clock.now)
      g.release(t, .success)
    }
    #expect(abs((starts.last! - starts.first!) - 9.9) < 1e-6)
    for i in 10..<starts.count { #expect(starts[i] - starts[i - 10] >= 1.0 - 1e-9) }
  }
}
