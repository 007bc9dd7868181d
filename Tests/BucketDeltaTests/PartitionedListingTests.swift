import Foundation
import Logging
import S3
import Testing

@testable import BucketDelta

/// An in-memory ListObjectsV2 server with `start-after`, `delimiter` and paging, whose listing order
/// and `start-after` follow a chosen rule:
/// - `.bytes`: UTF-8 byte order (AWS);
/// - `.slashFirst`: `/` sorts below every other byte, and `start-after` follows that order (SeaweedFS lists
///   `a/b` before `a-c`);
/// - `.ignoresStartAfter`: byte order, but every listing starts at the beginning;
/// - `.skipsOneAfterStart`: byte order, but a listing with `start-after` loses the first key after it.
final class RangeServer: HTTPTransport, @unchecked Sendable {
  enum Rule { case bytes, slashFirst, ignoresStartAfter, skipsOneAfterStart }
  let rule: Rule
  let keys: [String]
  private let lock = NSLock()
  private var _requests: [[String: String]] = []
  var requests: [[String: String]] { lock.withLock { _requests } }

  /// Time each answer takes (like a network and a server): listers must not outrun the split probes.
  let delay: useconds_t
  /// Time per key listed (like a server's work for a page).
  let perKey: useconds_t

  init(_ keys: [String], rule: Rule, delay: useconds_t = 1000, perKey: useconds_t = 0) {
    self.rule = rule
    self.delay = delay
    self.perKey = perKey
    self.keys = keys.sorted { Self.less($0, $1, rule) }
  }

  static func less(_ a: String, _ b: String, _ rule: Rule) -> Bool {
    guard rule == .slashFirst else { return KeyOrder.less(a, b) }
    let m: (UInt8) -> Int = { $0 == UInt8(ascii: "/") ? -1 : Int($0) }
    return Array(a.utf8).map(m).lexicographicallyPrecedes(Array(b.utf8).map(m))
  }

  func send(_ request: HTTPRequest) -> Result<HTTPResponse, TransportError> {
    let comps = URLComponents(string: request.url)!
    var q: [String: String] = [:]
    for item in comps.queryItems ?? [] { q[item.name] = item.value ?? "" }
    lock.withLock { _requests.append(q) }
    usleep(delay)
    let prefix = q["prefix"] ?? ""
    let delimiter = q["delimiter"]
    let maxKeys = Int(q["max-keys"] ?? "1000")!
    var after = q["continuation-token"] ?? q["start-after"]
    if rule == .ignoresStartAfter && q["continuation-token"] == nil { after = nil }
    var contents: [String] = []
    var prefixes: [String] = []
    var last: String?
    var truncated = false
    var skip = rule == .skipsOneAfterStart && q["start-after"] != nil && q["delimiter"] == nil && q["max-keys"] != "1"
    let token = q["continuation-token"]
    for k in keys where k.utf8.starts(with: prefix.utf8) {
      if let after, !Self.less(after, k, rule) { continue }
      if delimiter != nil, let token, token.hasSuffix(delimiter!), k.hasPrefix(token) { continue }
      if skip {
        skip = false
        continue
      }
      if let delimiter, let r = k.utf8.dropFirst(prefix.utf8.count).firstIndex(of: delimiter.utf8.first!) {
        let cp = String(k[..<k.utf8.index(after: r)])
        if prefixes.last == cp { continue }
        if contents.count + prefixes.count == maxKeys {
          truncated = true
          break
        }
        prefixes.append(cp)
        last = cp
        continue
      }
      if contents.count + prefixes.count == maxKeys {
        truncated = true
        break
      }
      contents.append(k)
      last = k
    }
    usleep(perKey * useconds_t(contents.count))
    var xml = "<ListBucketResult><EncodingType>url</EncodingType>"
    for k in contents {
      xml += "<Contents><Key>\(URIEncoding.encode(k, keepSlash: true))</Key><ETag>\"e\"</ETag><Size>1</Size></Contents>"
    }
    for p in prefixes {
      xml += "<CommonPrefixes><Prefix>\(URIEncoding.encode(p, keepSlash: true))</Prefix></CommonPrefixes>"
    }
    xml += "<IsTruncated>\(truncated)</IsTruncated>"
    if truncated, let last {
      xml += "<NextContinuationToken>\(last)</NextContinuationToken>"
    }
    xml += "</ListBucketResult>"
    return .success(HTTPResponse(status: 200, headers: [], body: Array(xml.utf8)))
  }
}

@Suite("Partitioned listing")
struct PartitionedListingTests {
  static func client(_ t: HTTPTransport) throws -> S3Client {
    S3Client(
      endpoint: try S3Endpoint(url: "http://fake"), credentials: Credentials(accessKeyID: "a", secretAccessKey: "s"),
      transport: t, logger: Logger(label: "t"))
  }

  /// 4 listers, small pages and early splits, so that a few hundred keys make many ranges.
  static func listing(
    _ server: HTTPTransport, pageSize: Int, prefix: String = "", side: Side = .source, listers: Int = 4,
    resumeFrom: RangeHandOff? = nil
  ) throws -> PartitionedListing {
    PartitionedListing(
      target: ListingTarget(client: try client(server), bucket: "b", prefix: prefix, pageSize: pageSize), side: side,
      listers: listers, resumeFrom: resumeFrom, prefetchPages: 2, splitAfterPages: 2, logger: Logger(label: "t"))
  }

  static func drain(_ s: ObjectStream) throws -> [String] {
    var out: [String] = []
    while let o = try s.next() { out.append(o.key) }
    return out
  }

  /// Tree keys like `dNN/eNN/obj-N`, flat hex keys, and a few odd ones.
  static func keys(tree: Int, flat: Int, seed: UInt64) -> [String] {
    var rng = SplitMix(seed: seed)
    var keys = Set<String>()
    while keys.count < tree {
      keys.insert("d\(rng.next() % 7)/e\(rng.next() % 5)/obj-\(rng.next() % 100_000)")
    }
    while keys.count < tree + flat {
      keys.insert(String(rng.next() % 0xFFFF_FFFF, radix: 16))
    }
    keys.formUnion(["", "d3/", "d3", "é/x", "z\u{1F600}", "~"].filter { !$0.isEmpty })
    return Array(keys)
  }

  @Test("On a byte-ordered server the ranges give exactly the whole listing, in order, and ranges are split")
  func complete() throws {
    for (seed, listers) in [(1 as UInt64, 4), (2, 2), (3, 8)] {
      let keys = Self.keys(tree: 600, flat: 300, seed: seed)
      let server = RangeServer(keys, rule: .bytes)
      let listing = try Self.listing(server, pageSize: 7, listers: listers)
      let listed = try Self.drain(OrderGuard(listing, side: .source))
      #expect(listed == keys.sorted(by: KeyOrder.less))
      #expect(listing.splits >= listers, "splits: \(listing.splits)")
      // Every range after the first starts with start-after: several were listed.
      let starts = server.requests.filter {
        $0["start-after"] != nil && $0["delimiter"] == nil && $0["max-keys"] != "1"
      }
      #expect(starts.count >= listers)
    }
  }

  @Test(
    "ListingWidth widens only when a one-key listing takes a large share of a page",
    arguments: [
      // (page seconds, one-key seconds, widen): figures logged on the loopback, 4 ms and 40 ms runs
      ([0.044, 0.045, 0.043], [0.001, 0.003], false), ([0.042, 0.046, 0.050], [0.006, 0.007], false),
      ([0.073, 0.071, 0.080], [0.043, 0.044], true), ([0.010, 0.011, 0.200], [0.004], true),
      ([0.010], [], false), ([], [0.01], false),
    ])
  func widthRule(page: [Double], oneKey: [Double], widen: Bool) {
    #expect(ListingWidth.widen(pageSeconds: page, oneKeySeconds: oneKey) == widen)
  }

  @Test("An adaptive listing widens to key ranges when pages wait on the network, and stays one stream otherwise")
  func adaptive() throws {
    let keys = Self.keys(tree: 600, flat: 0, seed: 11)
    func run(delay: useconds_t, perKey: useconds_t) throws -> (PartitionedListing, RangeServer) {
      let server = RangeServer(keys, rule: .bytes, delay: delay, perKey: perKey)
      let listing = PartitionedListing(
        target: ListingTarget(client: try Self.client(server), bucket: "b", pageSize: 20), side: .source,
        listers: 4, width: .adaptive, prefetchPages: 2, splitAfterPages: 2, logger: Logger(label: "t"))
      #expect(try Self.drain(OrderGuard(listing, side: .source)) == keys.sorted(by: KeyOrder.less))
      return (listing, server)
    }
    // 8 ms of waiting per request, nothing per key: a one-key listing takes as long as a page.
    let (network, _) = try run(delay: 8000, perKey: 0)
    #expect(network.activeListers == 4)
    #expect(network.splits > 0)
    // 0.2 ms per request, 1 ms per key: a 20-key page takes 20 ms, a one-key listing ~1 ms.
    let (server, requests) = try run(delay: 200, perKey: 1000)
    #expect(server.activeListers == 1)
    #expect(server.splits == 0)
    // Pages (continuing one stream) and the two one-key probes; no range started elsewhere.
    let starts = requests.requests.filter { $0["start-after"] != nil && $0["max-keys"] != "1" }
    #expect(starts.isEmpty, "\(starts)")
    #expect(requests.requests.filter { $0["max-keys"] == "1" }.count == 2)
  }

  @Test("A prefix is stripped, and only keys under it are listed")
  func prefix() throws {
    let keys = Self.keys(tree: 300, flat: 0, seed: 4)
    let server = RangeServer(keys.map { "p/" + $0 } + ["o", "q/1", "p"], rule: .bytes)
    let listing = try Self.listing(server, pageSize: 5, prefix: "p/")
    #expect(try Self.drain(listing) == keys.sorted(by: KeyOrder.less))
    #expect(listing.splits > 0)
  }

  @Test("A flat bucket is split at probed midpoints")
  func flat() throws {
    let keys = Self.keys(tree: 0, flat: 800, seed: 5)
    let server = RangeServer(keys, rule: .bytes)
    let listing = try Self.listing(server, pageSize: 10)
    #expect(try Self.drain(listing) == keys.sorted(by: KeyOrder.less))
    #expect(listing.splits >= 2, "\(server.requests.filter { $0["delimiter"] != nil || $0["max-keys"] == "1" })")
    #expect(
      server.requests.contains { $0["max-keys"] == "1" },
      "\(server.requests.filter { $0["delimiter"] != nil || $0["max-keys"] == "1" })")
  }

  @Test("A server listing `a/b` before `a-c` (SeaweedFS) is caught, never silently incomplete")
  func slashFirst() throws {
    var caught = 0
    for seed in 1...10 as ClosedRange<UInt64> {
      var keys = Self.keys(tree: 300, flat: 0, seed: seed)
      // Siblings that sort before "dN/" in bytes but after it on this server.
      keys += (0..<7).flatMap { ["d\($0)-x", "d\($0).y", "d\($0)/e0-z"] }
      let server = RangeServer(keys, rule: .slashFirst)
      let listing = try Self.listing(server, pageSize: 4)
      do {
        let listed = try Self.drain(OrderGuard(listing, side: .source))
        // Only acceptable without an error: the complete listing.
        #expect(listed == keys.sorted(by: KeyOrder.less))
      } catch let e as ListingOrderError {
        #expect(e.kind == .backwards || e.kind == .rangeHandOff)
        caught += 1
      }
    }
    #expect(caught == 10)
  }

  @Test("A server that ignores start-after is caught at the first hand-off")
  func ignoresStartAfter() throws {
    let keys = Self.keys(tree: 300, flat: 0, seed: 6)
    let server = RangeServer(keys, rule: .ignoresStartAfter)
    let listing = try Self.listing(server, pageSize: 5, side: .destination)
    #expect(throws: ListingOrderError.self) { try Self.drain(OrderGuard(listing, side: .destination)) }
  }

  @Test("A server whose start-after loses a key is caught by the hand-off check alone")
  func handOff() throws {
    for seed in 1...5 as ClosedRange<UInt64> {
      let keys = Self.keys(tree: 300, flat: 100, seed: seed)
      let server = RangeServer(keys, rule: .skipsOneAfterStart)
      let listing = try Self.listing(server, pageSize: 5)
      let error = #expect(throws: ListingOrderError.self) { try Self.drain(OrderGuard(listing, side: .source)) }
      #expect(error?.kind == .rangeHandOff)
      #expect(error?.description.contains("does not join up between key ranges") == true)
    }
  }

  @Test("Resuming at a recorded hand-off lists only what follows it, and a changed hand-off is refused")
  func resume() throws {
    let keys = Self.keys(tree: 400, flat: 0, seed: 7).sorted(by: KeyOrder.less)
    let server = RangeServer(keys, rule: .bytes)
    let first = try Self.listing(server, pageSize: 6)
    var seen: [String] = []
    for _ in 0..<250 { seen.append(try first.next()!.key) }
    let h = try #require(first.handOff(atOrBefore: seen.last!))
    first.close()
    #expect(KeyOrder.compare(h.after, seen.last!) <= 0)
    #expect(h.first == keys.first { KeyOrder.compare($0, h.after) > 0 })

    let again = try Self.listing(server, pageSize: 6, resumeFrom: h)
    #expect(try Self.drain(again) == keys.filter { KeyOrder.compare($0, h.after) > 0 })

    // The key that followed the boundary is gone: the resume must not trust the boundary.
    let changed = RangeServer(keys.filter { $0 != h.first }, rule: .bytes)
    let refused = try Self.listing(changed, pageSize: 6, resumeFrom: h)
    #expect(throws: ListingOrderError.self) { try Self.drain(refused) }
  }

  @Test("The pair comparison falls back to one stream, then sorts, and the verdict stays right")
  func fallback() throws {
    var src = Self.keys(tree: 200, flat: 0, seed: 8)
    src += (0..<7).flatMap { ["d\($0)-x", "d\($0)/e0-z"] }
    let dst = src.filter { $0 != "d3-x" && $0 != "d5/e0-z" } + ["d4.extra"]
    let server = RangeServerPair(src: RangeServer(src, rule: .slashFirst), dst: RangeServer(dst, rule: .bytes))
    let client = try Self.client(server)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bd-part-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var options = PairOptions()
    options.rangeListers = 4
    options.temporaryDirectory = dir
    options.sortRunSize = 50
    let report = dir.appendingPathComponent("r.txt").path
    let r = try PairComparison(
      source: ListingTarget(client: client, bucket: "src", pageSize: 4),
      destination: ListingTarget(client: client, bucket: "dst", pageSize: 4), reportPath: report, options: options,
      logger: Logger(label: "t")
    ).run()
    #expect(r.singleStreamSides == [.source])
    #expect(r.sortedSides == [.source])
    #expect(r.onlyInSource == 2)
    #expect(r.onlyInDestination == 1)
    #expect(r.objectsProcessed == src.count + 1)
    let text = try String(contentsOfFile: report, encoding: .utf8)
    #expect(text.contains("'Key: d3-x'") && text.contains("'Key: d5/e0-z'") && text.contains("'Key: d4.extra'"))
  }

  @Test("Midpoints lie strictly between their bounds and are valid UTF-8")
  func midpoints() {
    var rng = SplitMix(seed: 9)
    let alphabet = Array("ab/-.~0z \u{7F}é😀".unicodeScalars)
    func key() -> String {
      String(
        String.UnicodeScalarView(
          (0..<Int(rng.next() % 6)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
    }
    var found = 0
    for _ in 0..<5000 {
      let a = key()
      let b = key()
      let (lo, hi) = KeyOrder.less(a, b) ? (a, b) : (b, a)
      for high in [hi, nil] as [String?] {
        guard let m = KeyMidpoint.between(lo, high) else { continue }
        found += 1
        #expect(KeyOrder.less(lo, m), "\(lo) < \(m)")
        if let high { #expect(KeyOrder.less(m, high), "\(m) < \(high)") }
        #expect(m.utf8.count <= max(lo.utf8.count, high?.utf8.count ?? 0) + 1)
      }
    }
    #expect(found > 5000)
    #expect(KeyMidpoint.between("a", "c") == "b")
    #expect(KeyMidpoint.between("a", "b").map { "a" < $0 && $0 < "b" } == true)
    #expect(KeyMidpoint.between("abc", "abc\u{0}") == nil)
    // Numbered keys are counted on; other bytes move on by the page's step.
    #expect(
      KeyMidpoint.extrapolate(from: "bulk/obj-00000", to: "bulk/obj-00049", pages: 8, below: nil) == "bulk/obj-00441")
    #expect(
      KeyMidpoint.extrapolate(from: "bulk/obj-00000", to: "bulk/obj-00049", pages: 8, below: "bulk/obj-00300") == nil)
    #expect(KeyMidpoint.extrapolate(from: "k-90000", to: "k-99999", pages: 8, below: nil) == nil)
    #expect(KeyMidpoint.extrapolate(from: "ab", to: "ad", pages: 2, below: nil) == "ah")
    #expect(KeyMidpoint.extrapolate(from: "ad", to: "ab", pages: 2, below: nil) == nil)
  }
}

/// Two fake buckets, `src` and `dst`, each with its own rule.
final class RangeServerPair: HTTPTransport, @unchecked Sendable {
  let src: RangeServer
  let dst: RangeServer
  init(src: RangeServer, dst: RangeServer) {
    self.src = src
    self.dst = dst
  }
  func send(_ request: HTTPRequest) -> Result<HTTPResponse, TransportError> {
    let path = URLComponents(string: request.url)!.path
    return (path.hasPrefix("/src") ? src : dst).send(request)
  }
}
