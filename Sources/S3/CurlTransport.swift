internal import CCurl
internal import CCurlShims
import Foundation

/// HTTP over libcurl: each request runs on the calling thread with `curl_easy_perform` on a pooled
/// easy handle, which keeps its connections alive between requests; at most `maxConnectionsPerHost`
/// requests to one origin run at once. (Handing each request to a thread driving a multi handle and
/// the answer back cost two thread switches per request: about a third of a deep check's client CPU.)
public final class CurlTransport: HTTPTransport, @unchecked Sendable {
  // @unchecked: `idle` and `inFlight` are guarded by `slots`; an easy handle belongs to one calling
  // thread between leaving and rejoining `idle`.
  private let maxConnectionsPerHost: Int
  private let slots = NSCondition()
  private nonisolated(unsafe) var idle: [UnsafeMutableRawPointer] = []
  private var inFlight: [Substring: Int] = [:]

  private static let globalInit: Bool = {
    curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
  }()

  /// - Parameters:
  ///   - maxConnectionsPerHost: connections kept and used per host (`--num_connections`).
  public init(maxConnectionsPerHost: Int) {
    precondition(Self.globalInit, "curl_global_init failed")
    self.maxConnectionsPerHost = max(1, maxConnectionsPerHost)
  }

  deinit { shutdown() }

  /// Closes the idle connections (their easy handles). Requests may still be sent afterwards.
  public func shutdown() {
    slots.lock()
    let handles = idle
    idle.removeAll()
    slots.unlock()
    for easy in handles { curl_easy_cleanup(easy) }
  }

  /// Per-transfer state reached from curl's callbacks through an `Unmanaged` pointer.
  private final class Transfer {
    let request: HTTPRequest
    var body: [UInt8] = []
    var headers: [(String, String)] = []
    var tooLarge = false
    /// The current response's header section ended with its empty line (RFC 9112 section 2.1).
    var headerComplete = false
    /// Status of the current response (a 1xx answer is followed by another header section).
    var interimResponse = false
    /// The current response is a 2xx answer whose body goes to the request's sink.
    var streaming = false
    var headerList: UnsafeMutablePointer<curl_slist>?
    init(request: HTTPRequest) { self.request = request }
    deinit { curl_slist_free_all(headerList) }
  }

  /// Sends `request` and returns its answer; waits while `maxConnectionsPerHost` requests to the same
  /// origin are in flight.
  public func send(_ request: HTTPRequest) -> Result<HTTPResponse, TransportError> {
    let origin = Self.origin(of: request.url)
    slots.lock()
    while (inFlight[origin] ?? 0) >= maxConnectionsPerHost { slots.wait() }
    inFlight[origin, default: 0] += 1
    let easy = idle.popLast() ?? curl_easy_init()
    slots.unlock()
    defer {
      slots.lock()
      inFlight[origin, default: 1] -= 1
      if let easy { idle.append(easy) }
      slots.broadcast()  // waiters may wait for other origins
      slots.unlock()
    }
    guard let easy else { return .failure(TransportError(kind: .other, message: "curl_easy_init failed")) }
    curl_easy_reset(easy)  // options only: live connections stay in the handle's cache
    let transfer = Transfer(request: request)
    Self.configure(easy, transfer)
    let code = withExtendedLifetime(transfer) { curl_easy_perform(easy) }
    let result = Self.result(easy, code: code, transfer)
    _ = bd_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, nil)  // the list dies with `transfer`
    return result
  }

  /// `scheme://host:port` of a URL: requests to one origin share a connection limit.
  static func origin(of url: String) -> Substring {
    // On the UTF-8 view: Foundation's range(of:) went through CFString on every request.
    let utf8 = url.utf8
    var slashes = 0
    for i in utf8.indices where utf8[i] == UInt8(ascii: "/") {
      slashes += 1
      if slashes == 3 { return url[..<i] }
    }
    return Substring(url)
  }

  /// Sets every option of one request on `easy`; the callbacks reach `transfer`, which must outlive it.
  private static func configure(_ easy: UnsafeMutableRawPointer, _ transfer: Transfer) {
    let ctx = Unmanaged.passUnretained(transfer).toOpaque()
    let r = transfer.request
    _ = bd_easy_setopt_string(easy, CURLOPT_URL, r.url)
    // The path goes out exactly as signed: S3 keys may hold `.`/`..` segments (`a/./b`, `x/../y`),
    // which libcurl would otherwise remove, sending the request for another key (see FACTS.md).
    _ = bd_easy_setopt_long(easy, CURLOPT_PATH_AS_IS, 1)
    _ = bd_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
    _ = bd_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(r.timeout * 1000))
    _ = bd_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, 15_000)
    _ = bd_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, r.tls.verify ? 1 : 0)
    _ = bd_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, r.tls.verify ? 2 : 0)
    if let ca = r.tls.caBundle { _ = bd_easy_setopt_string(easy, CURLOPT_CAINFO, ca) }
    if r.method == "HEAD" {
      _ = bd_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
    } else if r.method != "GET" {
      _ = bd_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, r.method)
    }
    var list: UnsafeMutablePointer<curl_slist>? = nil
    for (name, value) in r.headers { list = curl_slist_append(list, "\(name): \(value)") }
    list = curl_slist_append(list, "Expect:")
    transfer.headerList = list
    _ = bd_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list))
    // Object content streams in 512 KiB reads instead of curl's 16 KiB: fewer callbacks and recv calls
    // (measured on a 2 GB content check: see ContentRead).
    if r.bodySink != nil { _ = bd_easy_setopt_long(easy, CURLOPT_BUFFERSIZE, 512 * 1024) }
    _ = bd_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback)
    _ = bd_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, ctx)
    _ = bd_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
    _ = bd_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, ctx)
  }

  /// The outcome of a finished transfer.
  private static func result(
    _ easy: UnsafeMutableRawPointer, code: CURLcode, _ transfer: Transfer
  ) -> Result<HTTPResponse, TransportError> {
    var status = 0
    _ = bd_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
    if transfer.tooLarge {
      return .failure(
        TransportError(
          kind: .tooLarge,
          message: "response body larger than \(transfer.request.maxResponseBytes) bytes"))
    } else if code != CURLE_OK {
      return .failure(Self.transportError(code))
    } else if !transfer.headerComplete {
      // libcurl 7.88 reports success when the connection closes inside the header section; the
      // headers that did not arrive (metadata, Object Lock) would silently compare as absent.
      return .failure(
        TransportError(
          kind: .reset,
          message:
            "the response's header section was cut off (the connection closed before the empty line that ends it)"))
    }
    return .success(HTTPResponse(status: status, headers: transfer.headers, body: transfer.body))
  }

  private static func transportError(_ code: CURLcode) -> TransportError {
    let text = String(cString: curl_easy_strerror(code))
    let kind: TransportError.Kind
    switch code {
    case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
      kind = .connect
    case CURLE_OPERATION_TIMEDOUT: kind = .timeout
    case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE:
      kind = .reset
    case CURLE_PEER_FAILED_VERIFICATION:
      return TransportError(
        kind: .tls,
        message:
          "the server's TLS certificate is not trusted (\(text), curl error \(code.rawValue)). If the endpoint uses a private CA, set ca_bundle in the manifest (or AWS_CA_BUNDLE) to that CA's PEM file"
      )
    case CURLE_SSL_CACERT_BADFILE:
      return TransportError(
        kind: .tls,
        message:
          "cannot use the CA bundle (\(text), curl error \(code.rawValue)): check the ca_bundle / AWS_CA_BUNDLE path")
    case CURLE_SSL_CONNECT_ERROR:
      // What an https:// URL gets from a port that serves plain HTTP.
      return TransportError(
        kind: .tls,
        message:
          "the TLS handshake failed (\(text), curl error \(code.rawValue)): the server probably does not speak TLS on that port; use http:// if it serves plain HTTP there, or the port where it serves HTTPS"
      )
    case CURLE_SSL_CERTPROBLEM:
      kind = .tls
    default: kind = .other
    }
    return TransportError(kind: kind, message: "\(text) (curl error \(code.rawValue))")
  }

  fileprivate static func append(body ptr: UnsafeMutablePointer<CChar>?, count: Int, to raw: UnsafeMutableRawPointer?)
    -> Int
  {
    guard let raw else { return 0 }
    let t = Unmanaged<Transfer>.fromOpaque(raw).takeUnretainedValue()
    if t.streaming, let sink = t.request.bodySink {
      if let ptr, count > 0 { sink.take(UnsafeRawBufferPointer(start: ptr, count: count)) }
      return count
    }
    if t.body.count + count > t.request.maxResponseBytes {
      t.tooLarge = true
      return 0
    }
    if let ptr, count > 0 {
      t.body.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: count))
    }
    return count
  }

  fileprivate static func append(header ptr: UnsafeMutablePointer<CChar>?, count: Int, to raw: UnsafeMutableRawPointer?)
    -> Int
  {
    guard let raw, let ptr else { return count }
    let t = Unmanaged<Transfer>.fromOpaque(raw).takeUnretainedValue()
    // Byte-level parsing (this runs for every header of every response): the name is ASCII and
    // lower-cased; the value loses only HTTP's optional white space (space, tab) and the CR LF,
    // never other Unicode white space, which would be part of a metadata value.
    let bytes = UnsafeRawBufferPointer(start: ptr, count: count)
    if bytes.starts(with: "HTTP/".utf8) {
      t.headers.removeAll()  // a new response (after 100 Continue or a redirect)
      t.headerComplete = false
      // `HTTP/1.1 1xx`: an interim answer whose empty line does not end the exchange's headers.
      let space = bytes.firstIndex(of: 0x20).map { $0 + 1 } ?? count
      t.interimResponse = space < count && bytes[space] == UInt8(ascii: "1")
      t.streaming = t.request.bodySink != nil && space < count && bytes[space] == UInt8(ascii: "2")
      return count
    }
    if count <= 2 && (bytes.first == 0x0D || bytes.first == 0x0A) {
      if !t.interimResponse { t.headerComplete = true }  // the empty line that ends the section
      return count
    }
    guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return count }
    let name = String(decoding: bytes[..<colon].map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    var lo = colon + 1
    var hi = count
    func isOWS(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
    while lo < hi && isOWS(bytes[lo]) { lo += 1 }
    while hi > lo && isOWS(bytes[hi - 1]) { hi -= 1 }
    let value = String(decoding: bytes[lo..<hi], as: UTF8.self)
    if name == "content-length", t.request.method != "HEAD", !t.streaming, let n = Int(value),
      n > t.request.maxResponseBytes
    {
      t.tooLarge = true  // refuse an announced oversized body before any of it arrives
      return 0
    }
    t.headers.append((name, value))
    return count
  }
}

private let curlWriteCallback: bd_data_callback = { ptr, size, nmemb, userdata in
  CurlTransport.append(body: ptr, count: size * nmemb, to: userdata)
}

private let curlHeaderCallback: bd_data_callback = { ptr, size, nmemb, userdata in
  CurlTransport.append(header: ptr, count: size * nmemb, to: userdata)
}
