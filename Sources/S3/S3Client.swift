import Foundation
import Logging

/// Request counters at one moment; they add up across clients and subtract to give an interval's.
public struct RequestCounts: Sendable, Equatable, Codable {
  /// Requests sent, retries included.
  public var requests = 0
  /// Requests that were second or later attempts.
  public var retries = 0
  /// Answers that asked us to slow down (503 SlowDown, 429, Throttling).
  public var throttled = 0

  public init() {}
  public static let zero = RequestCounts()

  public static func + (a: RequestCounts, b: RequestCounts) -> RequestCounts {
    var c = a
    c.requests += b.requests
    c.retries += b.retries
    c.throttled += b.throttled
    return c
  }

  public static func - (a: RequestCounts, b: RequestCounts) -> RequestCounts {
    var c = a
    c.requests -= b.requests
    c.retries -= b.retries
    c.throttled -= b.throttled
    return c
  }
}

/// Counters shared by the requests of one client (thread-safe).
public final class RequestStats: @unchecked Sendable {
  // @unchecked: `_counts` is guarded by `lock`.
  private let lock = NSLock()
  private var _counts = RequestCounts()

  public init() {}

  func record(retry: Bool) {
    lock.withLock {
      _counts.requests += 1
      if retry { _counts.retries += 1 }
    }
  }

  func recordThrottled() { lock.withLock { _counts.throttled += 1 } }

  private var _firstDate: (server: String, local: Date)?
  /// The `Date` header of the first answer that had one, and the local time it arrived: the cutoff of
  /// an as-of check is read against the servers' clocks, so a skewed one is worth a warning.
  public var firstDate: (server: String, local: Date)? { lock.withLock { _firstDate } }
  /// `server` is read only until one answer had a `Date` (every request passes here).
  func noteDate(_ server: @autoclosure () -> String?, local: @autoclosure () -> Date) {
    lock.withLock {
      if _firstDate == nil, let s = server() { _firstDate = (s, local()) }
    }
  }

  /// The counters now.
  public var counts: RequestCounts { lock.withLock { _counts } }
}

/// How one client sends its requests.
public struct ClientOptions: Sendable {
  public var retry = RetryPolicy()
  /// Seconds before a request is abandoned (and retried).
  public var requestTimeout: Double = ClientOptions.defaultRequestTimeout
  /// The request timeout unless one is set (`request_timeout_seconds`).
  public static let defaultRequestTimeout: Double = 120
  public var tls = TLSSettings()
  /// Shared by every client of the process that talks to the same endpoint; nil: no admission control.
  public var governor: RequestGovernor?
  public init() {}
}

/// A read-only S3 client for one endpoint and one set of credentials.
///
/// Calls block the calling thread; run them on threads, not inside Swift concurrency tasks.
public final class S3Client: Sendable {
  public let endpoint: S3Endpoint
  public let stats = RequestStats()
  private let signer: SigV4Signer
  private let transport: any HTTPTransport
  private let options: ClientOptions
  private let clock: @Sendable () -> Date
  private let sleep: @Sendable (Double) -> Void
  private let random: @Sendable () -> Double
  private let logger: Logger

  /// - Parameters:
  ///   - clock, sleep, random: injected so tests control time and jitter.
  public init(
    endpoint: S3Endpoint, credentials: Credentials, transport: any HTTPTransport,
    options: ClientOptions = ClientOptions(), logger: Logger,
    clock: @escaping @Sendable () -> Date = { Date() },
    sleep: @escaping @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) },
    random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
  ) {
    self.endpoint = endpoint
    self.signer = SigV4Signer(credentials: credentials, region: endpoint.region)
    self.transport = transport
    self.options = options
    self.logger = logger
    self.clock = clock
    self.sleep = sleep
    self.random = random
  }

  /// One page of `ListObjectsV2` with `encoding-type=url`.
  public func listObjectsV2(
    bucket: String, prefix: String = "", continuationToken: String? = nil,
    startAfter: String? = nil, maxKeys: Int = 1000, delimiter: String? = nil
  ) throws(S3Error) -> ListObjectsV2Page {
    var query: [(String, String)] = [
      ("list-type", "2"), ("encoding-type", "url"), ("max-keys", String(maxKeys)),
    ]
    if !prefix.isEmpty { query.append(("prefix", prefix)) }
    if let delimiter, !delimiter.isEmpty { query.append(("delimiter", delimiter)) }
    if let continuationToken { query.append(("continuation-token", continuationToken)) }
    if let startAfter, !startAfter.isEmpty { query.append(("start-after", startAfter)) }
    let (response, attempts) = try execute(
      operation: "ListObjectsV2", method: "GET", bucket: bucket, key: nil, query: query,
      maxResponseBytes: Self.maxListingPageBytes)
    do {
      return try ListObjectsV2Page.parse(response.body)
    } catch {
      throw S3Error(
        kind: .protocolViolation(Self.unreadable(response, expected: "ListBucketResult", error.description)),
        operation: "ListObjectsV2", endpoint: endpoint.description, bucket: bucket, attempts: attempts)
    }
  }

  /// One page of `ListObjectVersions` with `encoding-type=url`: versions and delete markers, by key and
  /// newest first.
  public func listObjectVersions(
    bucket: String, prefix: String = "", keyMarker: String? = nil, versionIDMarker: String? = nil,
    maxKeys: Int = 1000
  ) throws(S3Error) -> ListObjectVersionsPage {
    var query: [(String, String)] = [("versions", ""), ("encoding-type", "url"), ("max-keys", String(maxKeys))]
    if !prefix.isEmpty { query.append(("prefix", prefix)) }
    if let keyMarker { query.append(("key-marker", keyMarker)) }
    if let versionIDMarker { query.append(("version-id-marker", versionIDMarker)) }
    let (response, attempts) = try execute(
      operation: "ListObjectVersions", method: "GET", bucket: bucket, key: nil, query: query,
      maxResponseBytes: Self.maxListingPageBytes)
    do {
      return try ListObjectVersionsPage.parse(response.body)
    } catch {
      throw S3Error(
        kind: .protocolViolation(Self.unreadable(response, expected: "ListVersionsResult", error.description)),
        operation: "ListObjectVersions", endpoint: endpoint.description, bucket: bucket, attempts: attempts)
    }
  }

  /// `GetBucketVersioning`.
  public func bucketVersioning(bucket: String) throws(S3Error) -> VersioningStatus {
    let (response, attempts) = try execute(
      operation: "GetBucketVersioning", method: "GET", bucket: bucket, key: nil, query: [("versioning", "")])
    do {
      let root = try S3XMLParser.parse(response.body)
      // moto answers <GetBucketVersioningResponse> with the same <Status>.
      guard root.name == "VersioningConfiguration" || root.name == "GetBucketVersioningResponse" else {
        throw ProtocolError("expected <VersioningConfiguration>, got <\(root.name)>")
      }
      return VersioningStatus(rawValue: root.text(of: "Status") ?? "") ?? .unversioned
    } catch {
      throw S3Error(
        kind: .protocolViolation(Self.unreadable(response, expected: "VersioningConfiguration", "\(error)")),
        operation: "GetBucketVersioning", endpoint: endpoint.description, bucket: bucket, attempts: attempts)
    }
  }

  /// Why an answer could not be read. One that is not the S3 document at all (a web page, a login
  /// form, a proxy's error page) says so, with its Content-Type and first bytes: "malformed XML at
  /// byte 0: DTDs are not accepted" told a user nothing.
  static func unreadable(_ response: HTTPResponse, expected root: String, _ error: String) -> String {
    let head = response.body.prefix(512)
    if head.count > 0, String(decoding: head, as: UTF8.self).contains("<\(root)") { return error }
    var first = ""
    for b in response.body.prefix(80) {
      first += b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : b == 0x0A || b == 0x0D || b == 0x09 ? " " : "."
    }
    return
      "the endpoint did not answer like S3 (\(error)): HTTP \(response.status), Content-Type \(response.header("content-type").map { "'\($0)'" } ?? "none"), \(response.body.count) bytes beginning '\(first)'. Check that the endpoint URL is the S3 API of the server (not its web console, a load balancer's page or a proxy's login)"
  }

  /// The largest ListObjectsV2 answer accepted: 1,000 keys of 1,024 bytes, URL-encoded (up to 3 bytes per
  /// byte) with their XML, stay under 4 MiB; with several range listers per bucket a smaller cap keeps
  /// a hostile server's memory cost down.
  public static let maxListingPageBytes = 16 << 20

  /// Sends a signed request, retrying what `RetryPolicy` says is retryable.
  /// Returns a 2xx response and the number of attempts it took.
  /// - Parameter maxResponseBytes: a longer body fails the request (a server answering garbage must not
  ///   cost unbounded memory).
  public func execute(
    operation: String, method: String, bucket: String, key: String?, query: [(String, String)],
    headers extraHeaders: [(String, String)] = [], maxResponseBytes: Int = 64 << 20, bodySink: BodySink? = nil
  ) throws(S3Error) -> (HTTPResponse, Int) {
    let path = endpoint.path(bucket: bucket, key: key)
    let host = endpoint.hostHeader(bucket: bucket)
    let queryString = SigV4Signer.canonicalQuery(query)
    let url = "\(endpoint.scheme)://\(host)\(path)" + (queryString.isEmpty ? "" : "?\(queryString)")
    var attempt = 0
    while true {
      attempt += 1
      let headers = signer.sign(
        method: method, canonicalPath: path, query: query, headers: [("host", host)] + extraHeaders, date: clock())
      stats.record(retry: attempt > 1)
      let ticket = options.governor?.acquire()
      var request = HTTPRequest(
        method: method, url: url, headers: headers, maxResponseBytes: maxResponseBytes,
        timeout: options.requestTimeout, tls: options.tls)
      request.bodySink = bodySink
      bodySink?.begin()
      let result = transport.send(request)
      if case .success(let response) = result { stats.noteDate(response.header("date"), local: clock()) }
      let failure: S3Error
      var retryAfter: String? = nil
      var retryable: Bool
      switch result {
      case .success(let response) where (200..<300).contains(response.status):
        if let ticket { options.governor?.release(ticket, .success) }
        return (response, attempt)
      case .success(let response):
        let body = ServiceErrorBody.parse(status: response.status, body: response.body, headers: response)
        var serviceFailure = S3Error(
          kind: .service(
            status: response.status, code: body.code, message: body.message, requestID: body.requestID),
          operation: operation, endpoint: endpoint.description, bucket: bucket, key: key,
          attempts: attempt)
        serviceFailure.bucketRegion = body.region
        serviceFailure.redirectEndpoint = body.endpoint
        failure = serviceFailure
        retryable = RetryPolicy.isRetryable(status: response.status, code: body.code)
        retryAfter = response.header("retry-after")
        let throttled = RetryPolicy.isThrottling(status: response.status, code: body.code)
        if throttled { stats.recordThrottled() }
        if let ticket { options.governor?.release(ticket, throttled ? .throttled : .failed) }
      case .failure(let error):
        if let ticket { options.governor?.release(ticket, .failed) }
        failure = S3Error(
          kind: .transport(error), operation: operation, endpoint: endpoint.description,
          bucket: bucket, key: key, attempts: attempt)
        retryable = RetryPolicy.isRetryable(error)
      }
      let retry = options.retry
      guard retryable, attempt < retry.maxAttempts else { throw failure }
      let wait = retry.delay(afterAttempt: attempt, retryAfter: retryAfter, random: random())
      logger.warning(
        "Retrying in \(String(format: "%.2f", wait)) s (attempt \(attempt + 1) of \(retry.maxAttempts)): \(failure)")
      sleep(wait)
    }
  }
}

extension S3Client {
  /// HeadObject: the object's headers (404 is an `S3Error` with code `NotFound`). With `checksums`, asks
  /// for the `x-amz-checksum-*` headers (`x-amz-checksum-mode: ENABLED`); an endpoint that refuses that
  /// header (400 or 501 to a HEAD that works without it) is asked without it from then on.
  /// `versionID`: that version (`?versionId=`), not the latest.
  public func headObject(bucket: String, key: String, checksums: Bool = false, versionID: String? = nil)
    throws(S3Error) -> HTTPResponse
  {
    let ask = checksums && !ChecksumModeRefusals.shared.contains(endpoint.description)
    let query = versionID.map { [("versionId", $0)] } ?? []
    do {
      return try execute(
        operation: "HeadObject", method: "HEAD", bucket: bucket, key: key, query: query,
        headers: ask ? [("x-amz-checksum-mode", "ENABLED")] : []
      ).0
    } catch {
      guard ask, case .service(let status, _, _, _) = error.kind, status == 400 || status == 501 else { throw error }
      let plain = try execute(operation: "HeadObject", method: "HEAD", bucket: bucket, key: key, query: query).0
      if ChecksumModeRefusals.shared.insert(endpoint.description) {
        logger.warning(
          "Endpoint \(endpoint) refuses x-amz-checksum-mode (HTTP \(status) to a HEAD that works without it): checksums are not asked for there, so objects only checksums could decide stay unverified"
        )
      }
      return plain
    }
  }

  /// GetObject, the body streamed into `sink` (never held whole); returns the bytes streamed, checked
  /// against the answer's Content-Length and `expectedSize`. A retried attempt streams from the start.
  /// With `ifMatch` (an unquoted ETag), an object replaced since is refused by the server (412).
  @discardableResult
  public func getObject(
    bucket: String, key: String, into sink: BodySink, expectedSize: Int64, ifMatch etag: String? = nil
  ) throws(S3Error) -> Int64 {
    let (response, attempts) = try execute(
      operation: "GetObject", method: "GET", bucket: bucket, key: key, query: [],
      headers: etag.map { [("if-match", "\"\($0)\"")] } ?? [], bodySink: sink)
    let announced = response.header("content-length").flatMap { Int64($0) }
    guard sink.count == expectedSize, announced == nil || announced == sink.count else {
      throw S3Error(
        kind: .protocolViolation(
          "GetObject streamed \(sink.count) bytes, but the object has \(expectedSize) (Content-Length \(announced.map(String.init) ?? "absent")); the object may have changed during the check"
        ), operation: "GetObject", endpoint: endpoint.description, bucket: bucket, key: key, attempts: attempts)
    }
    return sink.count
  }

  /// The size of part 1 of a multipart object (`HEAD ?partNumber=1`): with the part count of its ETag,
  /// its part layout (uploaders cut every part but the last to one size).
  public func firstPartSize(bucket: String, key: String, versionID: String? = nil) throws(S3Error) -> Int64 {
    let r = try execute(
      operation: "HeadObject", method: "HEAD", bucket: bucket, key: key,
      query: [("partNumber", "1")] + (versionID.map { [("versionId", $0)] } ?? [])
    ).0
    guard let text = r.header("content-length"), let n = Int64(text), n >= 0 else {
      throw S3Error(
        kind: .protocolViolation("HeadObject ?partNumber=1 answer has no valid Content-Length"),
        operation: "HeadObject", endpoint: endpoint.description, bucket: bucket, key: key)
    }
    return n
  }

  /// GetObjectTagging: the object's tags.
  public func getObjectTagging(bucket: String, key: String, versionID: String? = nil) throws(S3Error) -> [String:
    String]
  {
    let (response, attempts) = try execute(
      operation: "GetObjectTagging", method: "GET", bucket: bucket, key: key,
      query: [("tagging", "")] + (versionID.map { [("versionId", $0)] } ?? []))
    do {
      return try parseTagging(response.body)
    } catch {
      throw S3Error(
        kind: .protocolViolation(Self.unreadable(response, expected: "Tagging", error.description)),
        operation: "GetObjectTagging",
        endpoint: endpoint.description, bucket: bucket, key: key, attempts: attempts)
    }
  }

  /// HeadObject, plus GetObjectTagging when `tags` is true; `headers` are the single-valued headers kept.
  public func objectDetails(
    bucket: String, key: String, tags: Bool, headers: [String], checksums: Bool = false, versionID: String? = nil
  ) throws(S3Error) -> ObjectDetails {
    let head = try headObject(bucket: bucket, key: key, checksums: checksums, versionID: versionID)
    var details: ObjectDetails
    do {
      details = try ObjectDetails(head: head, keeping: headers)
    } catch {
      throw S3Error(
        kind: .protocolViolation(error.description), operation: "HeadObject", endpoint: endpoint.description,
        bucket: bucket, key: key)
    }
    if tags { details.tags = try getObjectTagging(bucket: bucket, key: key, versionID: versionID) }
    return details
  }
}

/// Endpoints seen refusing `x-amz-checksum-mode`, once per process (every client of an endpoint learns it).
final class ChecksumModeRefusals: @unchecked Sendable {
  // @unchecked: `endpoints` is guarded by `lock`.
  static let shared = ChecksumModeRefusals()
  private let lock = NSLock()
  private var endpoints = Set<String>()
  func contains(_ e: String) -> Bool { lock.withLock { endpoints.contains(e) } }
  /// True the first time `e` is added.
  func insert(_ e: String) -> Bool { lock.withLock { endpoints.insert(e).inserted } }
}
