import Foundation
import Logging
import Testing

@testable import S3

/// A `LoopbackHTTPServer` that records each request's head (request line and headers, as received)
/// and answers with the bytes `answer` gives for it.
final class RecordingServer: @unchecked Sendable {
  // @unchecked: the heads are guarded by the recorder's lock.
  private final class Recorder: @unchecked Sendable {
    let lock = NSLock()
    var heads: [String] = []
  }
  private let recorder: Recorder
  private let server: LoopbackHTTPServer
  var port: Int { server.port }
  var requests: [String] { recorder.lock.withLock { recorder.heads } }
  /// The request lines received (`HEAD /b/a/./b HTTP/1.1`).
  var requestLines: [String] {
    // on the UTF-8 view: "\r\n" is one Character
    requests.map { String(decoding: $0.utf8.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self) }
  }

  init(answer: @escaping @Sendable (String) -> String) throws {
    let recorder = Recorder()
    self.recorder = recorder
    server = try LoopbackHTTPServer { c, head in
      recorder.lock.withLock { recorder.heads.append(head) }
      let out = answer(head)
      _ = send(c, out, out.utf8.count, Int32(MSG_NOSIGNAL))
    }
  }

  /// The value of header `name` in request `i`.
  func header(_ name: String, request i: Int) -> String? {
    for line in requests[i].split(separator: "\r\n") {
      let parts = line.split(separator: ":", maxSplits: 1)
      if parts.count == 2, parts[0].lowercased() == name { return parts[1].trimmingCharacters(in: .whitespaces) }
    }
    return nil
  }
}

private let fixedEpoch = 1_369_353_600

private func client(port: Int, attempts: Int = 1) throws -> S3Client {
  var options = ClientOptions()
  options.retry = RetryPolicy(maxAttempts: attempts, baseDelay: 0, maxDelay: 0)
  return S3Client(
    endpoint: try S3Endpoint(url: "http://127.0.0.1:\(port)"),
    credentials: Credentials(accessKeyID: "AK", secretAccessKey: "SK"),
    transport: CurlTransport(maxConnectionsPerHost: 1), options: options, logger: Logger(label: "test"),
    clock: { Date(timeIntervalSince1970: TimeInterval(fixedEpoch)) }, sleep: { _ in }, random: { 0 })
}

private let okHead =
  "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nContent-Length: 3\r\nx-amz-meta-owner: alice\r\nConnection: close\r\n\r\n"
private let okTagging: String = {
  let body = "<Tagging><TagSet></TagSet></Tagging>"
  return
    "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
    + body
}()
private let okListing: String = {
  let body =
    "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size><ETag>\"e\"</ETag></Contents></ListBucketResult>"
  return
    "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
    + body
}()

/// Keys whose paths an HTTP layer would normalise, and a few ordinary awkward ones.
private let awkwardKeys = [
  ".", "..", "./dot", "a/./b", "x/../y", "a//b", "/leading", "p/q/..", "p/q/.", "x y+z", "%2e%2E/\u{65E5}",
]

@Suite("Requests on the wire")
struct WireTests {
  @Test("Paths go out byte for byte as signed, and the signature is botocore's for the same key")
  func pathsAsSigned() throws {
    let server = try RecordingServer { head in head.hasPrefix("HEAD") ? okHead : okTagging }
    let c = try client(port: server.port)
    for key in awkwardKeys {
      _ = try c.headObject(bucket: "bkt", key: key)
      _ = try c.getObjectTagging(bucket: "bkt", key: key)
    }
    // botocore (the independent oracle) signs the same requests at the same instant
    let oracle = try botocoreSignatures(keys: awkwardKeys, endpoint: "http://127.0.0.1:\(server.port)")
    try #require(oracle.count == awkwardKeys.count)
    let lines = server.requestLines
    try #require(lines.count == 2 * awkwardKeys.count)
    for (i, row) in oracle.enumerated() {
      #expect(row.key == awkwardKeys[i])
      #expect(lines[2 * i] == "HEAD \(row.path) HTTP/1.1", "key \(row.key)")
      #expect(lines[2 * i + 1] == "GET \(row.path)?tagging= HTTP/1.1", "key \(row.key)")
      #expect(server.header("authorization", request: 2 * i) == row.HEAD, "key \(row.key)")
      #expect(server.header("authorization", request: 2 * i + 1) == row.GET, "key \(row.key)")
    }
    #expect(lines.contains("HEAD /bkt/a/./b HTTP/1.1"))
    #expect(lines.contains("HEAD /bkt/x/../y HTTP/1.1"))
    #expect(lines.contains("HEAD /bkt//leading HTTP/1.1"))
    #expect(lines.contains("HEAD /bkt/.. HTTP/1.1"))
  }

  @Test("A listing's path and query go out as signed")
  func listingAsSigned() throws {
    let server = try RecordingServer { _ in okListing }
    let c = try client(port: server.port)
    _ = try c.listObjectsV2(bucket: "bkt", prefix: "a/./", startAfter: "a/./b/../c")
    #expect(
      server.requestLines == [
        "GET /bkt?encoding-type=url&list-type=2&max-keys=1000&prefix=a%2F.%2F&start-after=a%2F.%2Fb%2F..%2Fc HTTP/1.1"
      ])
  }

  /// Where a header section is cut off: the connection closes right after these bytes.
  static let cuts: [(name: String, head: String)] = [
    ("after the status line", "HTTP/1.1 200 OK\r\n"),
    ("mid-header", "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nContent-Length: 3\r\nx-amz-meta-ow"),
    ("after ETag", "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\n"),
    ("after the last header, before the empty line", "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nContent-Length: 0\r\n"),
    ("after an interim 100 Continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nETag: \"e1\"\r\n"),
  ]

  @Test(
    "A header section cut off is a transport error, retried, for HEAD, GetObjectTagging and listings", arguments: 0..<5)
  func cutHeaders(cut: Int) throws {
    let (name, head) = Self.cuts[cut]
    let server = try RecordingServer { _ in head }
    let c = try client(port: server.port, attempts: 3)
    let operations: [(String, () throws(S3Error) -> Void)] = [
      ("HeadObject", { () throws(S3Error) in _ = try c.headObject(bucket: "bkt", key: "k") }),
      ("GetObjectTagging", { () throws(S3Error) in _ = try c.getObjectTagging(bucket: "bkt", key: "k") }),
      ("ListObjectsV2", { () throws(S3Error) in _ = try c.listObjectsV2(bucket: "bkt") }),
    ]
    for (operation, call) in operations {
      let before = server.requests.count
      do {
        try call()
        Issue.record("\(operation) accepted a header section cut off \(name)")
      } catch {
        guard case .transport(let t) = error.kind else {
          Issue.record("\(operation), cut \(name): \(error)")
          continue
        }
        #expect(t.kind == .reset, "\(operation), cut \(name)")
        // (curl itself notices a GET cut mid-header line: "Transferred a partial file", also a reset)
        #expect(
          error.description.contains("header section was cut off") || t.message.contains("curl error 18"), "\(error)")
        #expect(error.attempts == 3)
      }
      #expect(server.requests.count - before == 3, "\(operation), cut \(name): retried like a reset")
    }
  }

  @Test("The same answers with their empty line are accepted (the control of the cut-header test)")
  func completeHeaders() throws {
    let server = try RecordingServer { head in
      head.hasPrefix("HEAD") ? okHead : head.contains("tagging") ? okTagging : okListing
    }
    let c = try client(port: server.port)
    let r = try c.headObject(bucket: "bkt", key: "k")
    #expect(r.header("x-amz-meta-owner") == "alice")
    #expect(try c.getObjectTagging(bucket: "bkt", key: "k").isEmpty)
    #expect(try c.listObjectsV2(bucket: "bkt").objects.map(\.key) == ["k"])
    // an interim 100 Continue before a complete answer is fine too
    let continued = try RecordingServer { _ in "HTTP/1.1 100 Continue\r\n\r\n" + okHead }
    #expect(try client(port: continued.port).headObject(bucket: "bkt", key: "k").header("etag") == "\"e1\"")
  }
}

private struct OracleRow: Decodable {
  var key: String
  var path: String
  var HEAD: String
  var GET: String
}

/// botocore's path and Authorization header for HEAD and GET ?tagging of each key (Tests/fixtures/botocore_sign.py).
private func botocoreSignatures(keys: [String], endpoint: String) throws -> [OracleRow] {
  let env = ProcessInfo.processInfo.environment
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  let python = env["BD_PYTHON"] ?? root.appendingPathComponent(".venv/bin/python").path
  let p = Process()
  p.executableURL = URL(fileURLWithPath: python)
  p.arguments = [
    root.appendingPathComponent("Tests/fixtures/botocore_sign.py").path, endpoint, "bkt", "AK", "SK",
    String(fixedEpoch),
  ]
  let input = Pipe()
  let output = Pipe()
  p.standardInput = input
  p.standardOutput = output
  try p.run()
  input.fileHandleForWriting.write(try JSONEncoder().encode(keys))
  try input.fileHandleForWriting.close()
  let data = output.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  guard p.terminationStatus == 0 else { throw POSIXError(.EIO) }
  return try JSONDecoder().decode([OracleRow].self, from: data)
}

extension WireTests {
  @Test(
    "An endpoint that refuses x-amz-checksum-mode (400 to such a HEAD) is asked without it, once, then never again"
  )
  func checksumModeRefused() throws {
    let server = try RecordingServer { head in
      head.lowercased().contains("x-amz-checksum-mode:")
        ? "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" : okHead
    }
    let c = try client(port: server.port)
    for key in ["k1", "k2", "k3"] {
      let details = try c.objectDetails(bucket: "bkt", key: key, tags: false, headers: [], checksums: true)
      #expect(details.etag == "e1")
    }
    let asked = server.requests.indices.map { server.header("x-amz-checksum-mode", request: $0) }
    // the first HEAD asks and is refused, its retry does not; later HEADs never ask
    #expect(asked == ["ENABLED", nil, nil, nil])
    // the header is signed like every other (the server may check it)
    #expect(server.header("authorization", request: 0)?.contains("x-amz-checksum-mode") == true)
  }

  @Test("GetObject streams the body to the sink, restarting it on a retry, and refuses a short body")
  func streamedGet() throws {
    let body = String(repeating: "0123456789", count: 1000)
    let attempt = NSLock()
    nonisolated(unsafe) var n = 0
    let server = try RecordingServer { _ in
      let i = attempt.withLock {
        n += 1
        return n
      }
      // first answer: a 503; then the body
      return i == 1
        ? "HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        : "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    }
    let c = try client(port: server.port, attempts: 3)
    nonisolated(unsafe) var received: [UInt8] = []
    let sink = BodySink(consume: { received += $0 }, restart: { received = [] })
    #expect(try c.getObject(bucket: "bkt", key: "k", into: sink, expectedSize: 10_000, ifMatch: "e1") == 10_000)
    #expect(received == Array(body.utf8))
    #expect(server.requests.count == 2)
    // pinned to the ETag the HEAD saw, on every attempt, and signed
    #expect(server.header("if-match", request: 0) == "\"e1\"" && server.header("if-match", request: 1) == "\"e1\"")
    #expect(server.header("authorization", request: 1)?.contains("if-match") == true)
    // an object that no longer has the size the HEAD said: an error, never a verdict on part of it
    #expect(throws: S3Error.self) { try c.getObject(bucket: "bkt", key: "k", into: sink, expectedSize: 10_001) }
  }
}
