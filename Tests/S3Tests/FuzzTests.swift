import Foundation
import Testing

@testable import S3

/// A small deterministic generator.
private struct Mix {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}

@Suite("Hostile responses")
struct FuzzTests {
  static let page = Array(
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix>
    <KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
    <NextContinuationToken>dG9rZW4=</NextContinuationToken>
    <Contents><Key>a%20b%2Bc</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>12</Size></Contents>
    <Contents><Key>caf%C3%A9/%F0%9F%98%80</Key><ETag>"d-2"</ETag><Size>0</Size><![CDATA[x]]><!-- c --></Contents>
    </ListBucketResult>
    """.utf8)

  @Test("10,000 mutated listing pages and tag sets: parsed or refused with a message, never a crash")
  func mutatedResponses() {
    var rng = Mix(state: 7)
    let tokens = Array("<>/&;#x\"'=![]-?: \n\u{0}%+".utf8)
    var refused = 0
    for i in 0..<10_000 {
      var b = Self.page
      for _ in 0..<(1 + rng.below(5)) {
        switch rng.below(5) {
        case 0: b.removeSubrange(rng.below(b.count)..<b.count)
        case 1: b[rng.below(b.count)] = tokens[rng.below(tokens.count)]
        case 2: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(b.count + 1))
        case 3:  // duplicate a slice (nesting, repeated elements)
          let s = rng.below(b.count)
          let e = min(b.count, s + rng.below(200))
          b.insert(contentsOf: b[s..<e], at: rng.below(b.count + 1))
        default: if !b.isEmpty { b.remove(at: rng.below(b.count)) }
        }
        if b.isEmpty { break }
      }
      do {
        let p = try ListObjectsV2Page.parse(b)
        #expect(!p.isTruncated || p.nextContinuationToken != nil)
      } catch {
        refused += 1
        #expect(!error.description.isEmpty)
      }
      if i % 2 == 0 {
        let tagging = Array("<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>".utf8)
        var t = tagging
        t[rng.below(t.count)] = tokens[rng.below(tokens.count)]
        _ = try? parseTagging(t)
      }
    }
    #expect(refused > 5_000)
  }

  @Test(
    "A body larger than the limit fails the request instead of filling memory (announced or not)",
    arguments: [true, false])
  func bodyLimit(announced: Bool) throws {
    // a real loopback server streaming a huge body through the real curl transport; send() with
    // MSG_NOSIGNAL, since curl hangs up early and a plain write() would raise SIGPIPE in the test process
    let server = try LoopbackHTTPServer { fd, _ in
      let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
        + (announced ? "Content-Length: 400000000\r\n" : "Connection: close\r\n") + "\r\n"
      guard send(fd, head, head.utf8.count, Int32(MSG_NOSIGNAL)) > 0 else { return }
      let chunk = [UInt8](repeating: 0x20, count: 1 << 16)
      for _ in 0..<6000 { if send(fd, chunk, chunk.count, Int32(MSG_NOSIGNAL)) <= 0 { return } }
    }
    let transport = CurlTransport(maxConnectionsPerHost: 1)
    defer { transport.shutdown() }
    let r = transport.send(
      HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/b", headers: [], maxResponseBytes: 1 << 20))
    guard case .failure(let e) = r else {
      Issue.record("expected a failure")
      return
    }
    #expect(e.kind == .tooLarge)
    #expect(e.message.contains("larger than 1048576 bytes"))
  }
}

/// Header parsing through the real curl transport.
@Suite("Response headers")
struct HeaderParsingTests {
  @Test("Names are lower-cased; values lose only SP, HTAB and CR LF, not Unicode white space")
  func headerValues() throws {
    let server = try LoopbackHTTPServer { fd, _ in
      let text =
        "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nX-Amz-Meta-Nbsp: \t v\u{00A0}\r\nX-Amz-Meta-Inner:  a  b \r\n"
        + "X-Amz-Meta-Empty:\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
      _ = send(fd, text, text.utf8.count, Int32(MSG_NOSIGNAL))
    }
    let transport = CurlTransport(maxConnectionsPerHost: 1)
    defer { transport.shutdown() }
    let r = try transport.send(HTTPRequest(method: "HEAD", url: "http://127.0.0.1:\(server.port)/b/k", headers: []))
      .get()
    #expect(r.header("etag") == "\"e1\"")
    #expect(r.header("x-amz-meta-nbsp") == "v\u{00A0}")
    #expect(r.header("x-amz-meta-inner") == "a  b")
    #expect(r.header("x-amz-meta-empty") == "")
    #expect(r.headers.contains { $0.0 == "x-amz-meta-nbsp" })
  }
}

/// A one-connection-at-a-time HTTP server on 127.0.0.1: reads each request's head (up to the empty
/// line) and hands the socket and the head to `handle`, then closes the connection.
final class LoopbackHTTPServer: @unchecked Sendable {
  let port: Int
  private let fd: Int32

  init(handle: @escaping @Sendable (Int32, String) -> Void) throws {
    (fd, port) = try listenOnLoopback(backlog: 8)
    let listener = fd
    Thread {
      while true {
        let c = accept(listener, nil, nil)
        if c < 0 {  // shut down by deinit: the thread that uses the descriptor closes it
          close(listener)
          return
        }
        var head: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
          let n = read(c, &buf, buf.count)
          if n <= 0 { break }
          head += buf[0..<n]
        }
        handle(c, String(decoding: head, as: UTF8.self))
        close(c)
      }
    }.start()
  }

  // Only wakes the accept thread, which closes the descriptor: closing it here raced with that thread's
  // next accept(), which could then take connections meant for another test's server that reused the number.
  deinit { shutdown(fd, Int32(SHUT_RDWR)) }
}

/// Blocking requests through the real curl transport: the per-origin limit and connection reuse.
@Suite("Blocking requests")
struct BlockingSendTests {
  @Test("Origins: scheme, host and port, without the path")
  func origins() {
    #expect(CurlTransport.origin(of: "http://127.0.0.1:9000/b/k?x=1") == "http://127.0.0.1:9000")
    #expect(CurlTransport.origin(of: "https://b.s3.example.com/k/a/b") == "https://b.s3.example.com")
    #expect(CurlTransport.origin(of: "http://h:1") == "http://h:1")
  }

  @Test("6 threads x 10 requests with 2 connections per host: never more than 2 at once, on 2 kept-alive connections")
  func limitAndReuse() throws {
    let server = try KeepAliveServer(delay: 0.01)
    let transport = CurlTransport(maxConnectionsPerHost: 2)
    defer { transport.shutdown() }
    let failures = LockedCounter()
    let group = DispatchGroup()
    for _ in 0..<6 {
      group.enter()
      Thread {
        for i in 0..<10 {
          let r = transport.send(
            HTTPRequest(method: "HEAD", url: "http://127.0.0.1:\(server.port)/b/k\(i)", headers: []))
          if (try? r.get())?.status != 200 { failures.add() }
        }
        group.leave()
      }.start()
    }
    group.wait()
    #expect(failures.value == 0)
    #expect(server.requests == 60)
    #expect(server.maxConcurrent == 2)
    #expect(server.connections <= 2)
  }
}

final class LockedCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0
  func add() { lock.withLock { count += 1 } }
  var value: Int { lock.withLock { count } }
}

/// An HTTP/1.1 server on 127.0.0.1 with a thread per connection and keep-alive: answers every request
/// with 200 and an empty body after `delay`, and counts connections, requests and requests at once.
final class KeepAliveServer: @unchecked Sendable {
  let port: Int
  private let fd: Int32
  private let lock = NSLock()
  private var _connections = 0, _requests = 0, _active = 0, _maxActive = 0
  var connections: Int { lock.withLock { _connections } }
  var requests: Int { lock.withLock { _requests } }
  var maxConcurrent: Int { lock.withLock { _maxActive } }

  init(delay: Double) throws {
    (fd, port) = try listenOnLoopback(backlog: 16)
    let sock = fd
    Thread { [self] in
      while true {
        let c = accept(sock, nil, nil)
        if c < 0 {  // shut down by deinit: the thread that uses the descriptor closes it
          close(sock)
          return
        }
        lock.withLock { _connections += 1 }
        Thread { [self] in serve(c, delay: delay) }.start()
      }
    }.start()
  }

  private func serve(_ c: Int32, delay: Double) {
    var pending: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = read(c, &buf, buf.count)
      if n <= 0 { break }
      pending += buf[0..<n]
      while let end = pending.indices.dropLast(3).first(where: {
        pending[$0..<($0 + 4)].elementsEqual([13, 10, 13, 10])
      }) {
        pending.removeFirst(end + 4)
        lock.withLock {
          _requests += 1
          _active += 1
          _maxActive = max(_maxActive, _active)
        }
        usleep(UInt32(delay * 1_000_000))
        lock.withLock { _active -= 1 }
        let answer = "HTTP/1.1 200 OK\r\nETag: \"e\"\r\nContent-Length: 0\r\n\r\n"
        _ = send(c, answer, answer.utf8.count, Int32(MSG_NOSIGNAL))
      }
    }
    close(c)
  }

  // Only wakes the accept thread, which closes the descriptor: closing it here raced with that thread's
  // next accept(), which could then take connections meant for another test's server that reused the number.
  deinit { shutdown(fd, Int32(SHUT_RDWR)) }
}

/// A listening TCP socket on 127.0.0.1 with a port the kernel picked: (descriptor, port).
func listenOnLoopback(backlog: Int32) throws -> (Int32, Int) {
  let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  var addr = sockaddr_in()
  addr.sin_family = sa_family_t(AF_INET)
  addr.sin_addr.s_addr = inet_addr("127.0.0.1")
  addr.sin_port = 0
  var len = socklen_t(MemoryLayout<sockaddr_in>.size)
  let ok = withUnsafePointer(to: &addr) { p in
    p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, len) == 0 && listen(sock, backlog) == 0 }
  }
  guard ok else { throw POSIXError(.EADDRINUSE) }
  _ = withUnsafeMutablePointer(to: &addr) { p in
    p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) }
  }
  return (sock, Int(UInt16(bigEndian: addr.sin_port)))
}
