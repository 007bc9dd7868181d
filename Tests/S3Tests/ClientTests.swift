import Foundation
import Logging
import Testing

@testable import S3

/// A transport that answers from a script and records what it was sent.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
  private let lock = NSLock()
  private var answers: [Result<HTTPResponse, TransportError>]
  private(set) var requests: [HTTPRequest] = []

  init(_ answers: [Result<HTTPResponse, TransportError>]) { self.answers = answers }

  func send(_ request: HTTPRequest) -> Result<HTTPResponse, TransportError> {
    lock.lock()
    requests.append(request)
    let answer =
      answers.isEmpty ? .failure(TransportError(kind: .other, message: "script exhausted")) : answers.removeFirst()
    lock.unlock()
    return answer
  }
}

final class SleepLog: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var delays: [Double] = []
  func add(_ d: Double) { lock.withLock { delays.append(d) } }
  /// Records `d` only if nothing was recorded yet.
  func addFirst(_ d: Double) { lock.withLock { if delays.isEmpty { delays.append(d) } } }
}

@Suite("S3 client: requests, retries, errors")
struct ClientTests {
  let okPage = HTTPResponse(
    status: 200, headers: [],
    body: Array(
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>"
        .utf8))

  private func client(
    _ t: ScriptedTransport, sleeps: SleepLog, url: String = "http://127.0.0.1:8333", style: AddressingStyle = .path
  ) throws -> S3Client {
    var options = ClientOptions()
    options.retry = RetryPolicy(maxAttempts: 4, baseDelay: 0.1, maxDelay: 5)
    return S3Client(
      endpoint: try S3Endpoint(url: url, region: "us-east-1", addressing: style),
      credentials: Credentials(accessKeyID: "AK", secretAccessKey: "SK"), transport: t, options: options,
      logger: Logger(label: "test"),
      clock: { Date(timeIntervalSince1970: 1_369_353_600) }, sleep: { sleeps.add($0) }, random: { 1.0 })
  }

  private func status(_ code: Int, _ s3code: String, headers: [(String, String)] = []) -> Result<
    HTTPResponse, TransportError
  > {
    .success(
      HTTPResponse(
        status: code, headers: headers, body: Array("<Error><Code>\(s3code)</Code><Message>m</Message></Error>".utf8)))
  }

  @Test("The URL carries the encoded query; the request is signed for the host with its port")
  func requestShape() throws {
    let t = ScriptedTransport([.success(okPage)])
    let c = try client(t, sleeps: SleepLog())
    _ = try c.listObjectsV2(bucket: "bkt", prefix: "a b/", startAfter: "a b/x+y", maxKeys: 7)
    let r = try #require(t.requests.first)
    #expect(
      r.url
        == "http://127.0.0.1:8333/bkt?encoding-type=url&list-type=2&max-keys=7&prefix=a%20b%2F&start-after=a%20b%2Fx%2By"
    )
    #expect(r.headers.contains { $0 == ("host", "127.0.0.1:8333") })
    #expect(
      r.headers.contains {
        $0.0 == "authorization" && $0.1.hasPrefix("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request")
      })
  }

  @Test("Virtual-hosted addressing puts the bucket in the host")
  func virtualHosted() throws {
    let t = ScriptedTransport([.success(okPage)])
    let c = try client(t, sleeps: SleepLog(), url: "https://s3.example.com", style: .virtual)
    _ = try c.listObjectsV2(bucket: "bkt")
    #expect(t.requests.first?.url.hasPrefix("https://bkt.s3.example.com/?") == true)
  }

  @Test("503 SlowDown, 500 and a reset are retried with backoff; Retry-After is honoured")
  func retries() throws {
    let t = ScriptedTransport([
      status(503, "SlowDown", headers: [("retry-after", "3")]), status(500, "InternalError"),
      .failure(TransportError(kind: .reset, message: "reset")), .success(okPage),
    ])
    let sleeps = SleepLog()
    let page = try client(t, sleeps: sleeps).listObjectsV2(bucket: "b")
    #expect(page.objects.count == 1)
    #expect(t.requests.count == 4)
    #expect(sleeps.delays == [3.0, 0.2, 0.4])
  }

  @Test(
    "403, 404 and 400 are final",
    arguments: [(403, "SignatureDoesNotMatch"), (404, "NoSuchBucket"), (400, "InvalidArgument")])
  func noRetry(code: Int, s3code: String) throws {
    let t = ScriptedTransport([status(code, s3code), .success(okPage)])
    let sleeps = SleepLog()
    #expect(throws: S3Error.self) { try client(t, sleeps: sleeps).listObjectsV2(bucket: "b") }
    #expect(t.requests.count == 1)
    #expect(sleeps.delays.isEmpty)
  }

  @Test("When the retries run out the error says what, where and how often")
  func exhausted() throws {
    let t = ScriptedTransport(Array(repeating: status(503, "SlowDown"), count: 4))
    do {
      _ = try client(t, sleeps: SleepLog()).listObjectsV2(bucket: "photos")
      Issue.record("expected an error")
    } catch let error as S3Error {
      #expect(error.code == "SlowDown")
      #expect(
        error.description.contains("ListObjectsV2 on bucket 'photos' at http://127.0.0.1:8333: HTTP 503 SlowDown"))
      #expect(error.description.contains("after 4 attempts"))
    } catch {
      Issue.record("unexpected \(error)")
    }
    #expect(t.requests.count == 4)
  }

  @Test("Endpoints: credentials in the URL and other schemes are refused")
  func endpoints() throws {
    #expect(throws: EndpointError.self) { try S3Endpoint(url: "http://user:pw@host") }
    #expect(throws: EndpointError.self) { try S3Endpoint(url: "ftp://host") }
    // a path is where users put the bucket by mistake (`http://host:9000/mybucket` listed as 404 NoSuchKey)
    #expect(throws: EndpointError.self) { try S3Endpoint(url: "https://host:443/base/") }
    let e = try S3Endpoint(url: "https://host:443/")
    #expect(e.hostHeader(bucket: "b") == "host")
    #expect(e.path(bucket: "b", key: "a b/c") == "/b/a%20b/c")
    #expect(throws: EndpointError.self) { try S3Endpoint(url: "http://10.0.0.1:9000", addressing: .virtual) }
    #expect(throws: EndpointError.self) { try S3Endpoint(url: "http://[::1]:9000", addressing: .virtual) }
    #expect(
      try S3Endpoint(url: "http://s3.example.com", addressing: .virtual).hostHeader(bucket: "b") == "b.s3.example.com")
    #expect(
      try S3Endpoint(url: "http://10.0.0.1.nip.io", addressing: .virtual).hostHeader(bucket: "b") == "b.10.0.0.1.nip.io"
    )
  }

  @Test("Backoff: full jitter under an exponential ceiling, capped")
  func backoff() {
    let p = RetryPolicy(maxAttempts: 10, baseDelay: 0.1, maxDelay: 2)
    #expect(p.delay(afterAttempt: 1, retryAfter: nil, random: 1) == 0.1)
    #expect(p.delay(afterAttempt: 3, retryAfter: nil, random: 0.5) == 0.2)
    #expect(p.delay(afterAttempt: 9, retryAfter: nil, random: 1) == 2)
    #expect(p.delay(afterAttempt: 1, retryAfter: "60", random: 0) == 2)
  }
}
