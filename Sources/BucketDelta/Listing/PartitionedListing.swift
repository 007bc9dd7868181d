import Foundation
import Logging
import S3

/// Where a resumed listing may start: listing after `after` was seen to begin with `first`
/// (`nil`: nothing follows). Keys are relative to the listing prefix.
public struct RangeHandOff: Codable, Sendable, Equatable {
  public var after: String
  public var first: String?
  public init(after: String, first: String?) {
    self.after = after
    self.first = first
  }
}

/// How many range listers run: all from the start (`range_listers: N`), or one until the first pages show
/// whether the network or the server sets the pace (`range_listers: auto`, see `ListingWidth`).
public enum ListerWidth: Sendable, Equatable {
  case fixed
  case adaptive
}

/// The decision of an adaptive listing: one stream while the server sets the pace, key ranges when the
/// pages mostly wait on the network.
///
/// Why: on a loopback SeaweedFS pair of 100,000 objects one stream per side took 3.7-4.0 s and 4 key
/// ranges 4.5-5.0 s (split probes, overshooting pages and the merge's CPU cost more than the overlap
/// saves when a page comes back in a few ms); through a 4 ms RTT proxy 3.6-4.3 s against 4.1-5.1 s;
/// through a 40 ms RTT proxy 7.4-7.8 s against 7.0-7.3 s, and 3.0-4.1 s with 16 prefetched pages per
/// lister. A one-key listing costs the round trip and the request's fixed cost; a full page adds the
/// server's work for its keys. When the one-key listing takes a large share of a page's time, requests
/// side by side overlap mostly waiting, which is what ranges buy.
public enum ListingWidth {
  /// Full pages timed before deciding (after the first, which also pays for the connection).
  public static let pagesToTime = 3
  /// A one-key listing taking at least this share of a full page's time means the network sets the pace.
  public static let networkShare = 0.35
  /// Pages prefetched per lister once ranges are chosen: what hides a round trip of tens of ms (2, the
  /// fixed mode's, left the 40 ms run at 6.7-6.8 s; 4 gave 6.0-6.5 s and 6 MB more).
  public static let widePrefetchPages = 8

  /// Whether to widen to key ranges, from the durations of full pages and of one-key listings (seconds).
  public static func widen(pageSeconds: [Double], oneKeySeconds: [Double]) -> Bool {
    guard !pageSeconds.isEmpty, let oneKey = oneKeySeconds.min() else { return false }
    let page = pageSeconds.sorted()[pageSeconds.count / 2]
    return page > 0 && oneKey >= networkShare * page
  }
}

/// Lists one side of a pair as key ranges, several at once, and hands the objects on in global
/// UTF-8 key order, with memory bounded by a budget of pages whatever the bucket size.
///
/// Range *i* is `(lower, upper]`: it lists with `start-after = lower` and stops at its first key above
/// `upper` (the *overshoot*). Listers idle for lack of work split the earliest unfinished range at a
/// point after its last listed key (a CommonPrefix of a delimiter listing, else a probed byte midpoint),
/// so one large range does not leave the others idle.
///
/// Ranges are only trusted as a whole through the **hand-off check**: range *i*'s overshoot must be the
/// first key the server lists after range *i+1*'s lower bound (and a range that reached the end must be
/// followed by an empty listing); within a range keys must rise in bytes and stay in bounds. A server that
/// ignores `start-after` or lists out of byte order fails one of these checks, and the listing throws a
/// `ListingOrderError` of kind `.rangeHandOff` or `.backwards`, so the caller can fall back to a single
/// stream. A server whose `start-after` agrees with its own listing order passes only when the ranges'
/// union is its whole listing.
public final class PartitionedListing: ObjectStream, @unchecked Sendable {
  // @unchecked: all mutable state is guarded by `condition`, except `current`/`index`, which only the
  // reading thread touches.
  final class KeyRange {
    /// Where the range's page requests are: none in flight, one in flight, or no more to send (listed to its
    /// end or failed).
    enum Requests { case idle, inFlight, finished }
    /// Whether the range may be split: yes; a probe for split points is running; or the last probe found
    /// none while the range had listed up to `at` (not tried again until it lists further).
    enum Splitting: Equatable {
      case allowed, probing
      case failed(at: String?)
    }
    /// The first key listed in the range (nil: the range is empty), once its first page is in.
    enum FirstKey: Equatable {
      case unknown
      case known(String?)
    }
    /// Set when this range starts a resumed listing: its first key must be `key` (nil: nothing), as the
    /// checkpoint saw it.
    struct ResumeCheck { let key: String? }

    let lower: String?
    var upper: String?
    var resumeCheck: ResumeCheck?
    var requests = Requests.idle
    var splitting = Splitting.allowed
    var firstKey = FirstKey.unknown
    var token: String?
    var pages: [[ListedObject]] = []
    var overshoot: String?
    /// Last in-range key listed.
    var cursor: String?
    /// First in-range key of the last page listed (with `cursor`, the span of one page).
    var pageFirst: String?
    var error: Error?
    var pageGuard: ListingPageGuard
    var pagesRead: Int { pageGuard.pagesRead }
    var finished: Bool { requests == .finished }
    init(lower: String?, upper: String?, target: ListingTarget) {
      self.lower = lower
      self.upper = upper
      self.pageGuard = ListingPageGuard(target: target)
    }
  }

  private let condition = NSCondition()
  private var ranges: [KeyRange]
  private var closed = false
  private var handOffs: [RangeHandOff] = []
  private var splitCount = 0
  private var current: [ListedObject] = []
  private var index = 0
  private var finalOvershoot: String?

  private let target: ListingTarget
  /// The upper bound of the whole listing (a shard's), nil for the end.
  private let through: String?
  private let side: Side
  private let listers: Int
  /// Listers allowed to work now: `listers`, or 1 while an adaptive listing has not widened.
  private var active: Int
  /// Where an adaptive listing is in its decision (`ListingWidth`).
  private enum Widening {
    case fixed
    case timing([Double])
    case probing
    case decided
  }
  private var widening: Widening
  private let now: @Sendable () -> Double
  /// Pages held or requested at once, over all ranges; the earliest ranges get them first.
  private var pageBudget: Int
  private let maxRanges: Int
  /// A range is split only after this many pages (so ranges stay large enough to be worth their overhead).
  private let splitAfterPages: Int
  private let logger: Logger
  private let progress: PairProgress?
  private let location: String

  /// - Parameters:
  ///   - listers: concurrent range listers (threads, each with one request in flight).
  ///   - resumeFrom: a hand-off recorded by an earlier run: listing starts after its `after`, and its
  ///     first key must be its `first`.
  ///   - width: `.adaptive` starts with one lister and widens to `listers` only when `ListingWidth` says so.
  ///   - now: monotonic seconds, to time pages (injected for tests).
  public init(
    target: ListingTarget, side: Side, listers: Int, width: ListerWidth = .fixed, resumeFrom: RangeHandOff? = nil,
    through: String? = nil, prefetchPages: Int = 2, splitAfterPages: Int = 6, logger: Logger,
    progress: PairProgress? = nil,
    now: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
  ) {
    self.splitAfterPages = max(1, splitAfterPages)
    self.target = target
    self.through = through
    self.side = side
    self.listers = max(1, listers)
    let adaptive = width == .adaptive && self.listers > 1
    self.active = adaptive ? 1 : self.listers
    self.widening = adaptive ? .timing([]) : .fixed
    self.now = now
    self.pageBudget = max(1, prefetchPages) * (self.active + 2)
    self.maxRanges = 4 * self.listers + 4
    self.logger = logger
    self.progress = progress
    self.location = "bucket '\(target.bucket)' at \(target.client.endpoint)"
    let first = KeyRange(lower: resumeFrom?.after ?? target.startAfter, upper: through, target: target)
    if let resumeFrom { first.resumeCheck = KeyRange.ResumeCheck(key: resumeFrom.first) }
    ranges = [first]
    for i in 0..<self.listers {
      let t = Thread { [self] in self.lister(i) }
      t.name = "list-\(side)-\(i)"
      t.start()
    }
  }

  /// The first key past `through` that the last range met (nil: it listed to the end), once the
  /// listing has ended; `RangeTail` checks it against the listing after the bound.
  public var overshootPastBound: String? { condition.withLock { finalOvershoot } }

  /// Ranges split off while listing (for the log and the tests).
  public var splits: Int { condition.withLock { splitCount } }

  /// Listers working now (1 while an adaptive listing has not widened).
  public var activeListers: Int { condition.withLock { active } }

  /// The latest verified hand-off whose lower bound is at or before `watermark`, to resume from.
  public func handOff(atOrBefore watermark: String) -> RangeHandOff? {
    condition.withLock {
      handOffs.last { KeyOrder.compare($0.after, watermark) <= 0 }
    }
  }

  // MARK: Reading

  public func next() throws -> ListedObject? {
    while index >= current.count {
      condition.lock()
      defer { condition.unlock() }
      while true {
        if closed { return nil }
        guard let r = ranges.first else { return nil }
        if !r.pages.isEmpty {
          current = r.pages.removeFirst()
          index = 0
          condition.broadcast()
          break
        }
        if r.finished {
          if let e = r.error { throw e }
          if ranges.count > 1 {
            let n = ranges[1]
            while n.firstKey == .unknown && n.error == nil && !closed { condition.wait() }
            if closed { return nil }
            guard case .known(let firstSeen) = n.firstKey else { throw n.error! }
            guard firstSeen == r.overshoot, let boundary = n.lower else {
              throw ListingOrderError(
                kind: .rangeHandOff, side: side, previous: n.lower ?? "", key: firstSeen ?? "",
                location: location,
                detail:
                  "the range below it went on with \(describe(r.overshoot)), but listing after it starts with \(describe(firstSeen))"
              )
            }
            record(RangeHandOff(after: boundary, first: firstSeen))
          } else {
            finalOvershoot = r.overshoot
          }
          ranges.removeFirst()
          condition.broadcast()
          continue
        }
        condition.wait()
      }
    }
    defer { index += 1 }
    return current[index]
  }

  private func describe(_ key: String?) -> String { key.map { "'\($0)'" } ?? "(the end)" }

  private func record(_ h: RangeHandOff) {
    handOffs.append(h)
    if handOffs.count > 2 * maxRanges { handOffs.removeFirst(handOffs.count - maxRanges) }
  }

  public func close() {
    condition.lock()
    closed = true
    condition.broadcast()
    condition.unlock()
  }

  // MARK: Listing

  private enum Work {
    case page(KeyRange)
    case split(KeyRange, after: String, upper: String?, pageFirst: String?)
  }

  private func lister(_ number: Int) {
    condition.lock()
    while true {
      if closed {
        condition.unlock()
        return
      }
      if ranges.isEmpty {
        condition.unlock()
        return
      }
      guard number < active, let work = pickWork() else {
        condition.wait()
        continue
      }
      condition.unlock()
      switch work {
      case .page(let r): if listPage(r) { decideWidth(after: r) }
      case .split(let r, let after, let upper, let pageFirst):
        trySplit(r, after: after, upper: upper, pageFirst: pageFirst)
      }
      condition.lock()
    }
  }

  /// Under the lock: while the page budget allows, a page of the earliest range that can take a request,
  /// else a range to split.
  private func pickWork() -> Work? {
    // A range may take a request while the pages held or requested by it and the ranges before it are
    // under the budget: the ranges the merge reads next come first, and far ranges that filled up
    // earlier cannot starve them; `listers` requests over the budget at most, in all.
    func held(_ r: KeyRange) -> Int { r.pages.count + (r.requests == .inFlight ? 1 : 0) }
    guard ranges.reduce(0, { $0 + held($1) }) < pageBudget + active else { return splitWork() }
    var heldBefore = 0
    for r in ranges {
      heldBefore += held(r)
      guard heldBefore < pageBudget else { break }
      if r.requests == .idle {
        r.requests = .inFlight
        return .page(r)
      }
    }
    return splitWork()
  }

  private func splitWork() -> Work? {
    // Every unfinished range has a request in flight, or the budget is taken: split the earliest range
    // that turned out large (or the only one, at the start), so that other listers can take its far part
    // (and the budget, which goes to the earliest ranges first, moves to where the merge reads).
    guard active > 1, ranges.count < maxRanges else { return nil }
    for r in ranges.prefix(active + 2) where !r.finished && r.resumeCheck == nil {
      guard r.pagesRead >= splitAfterPages || ranges.count == 1 else { continue }
      guard r.splitting != .probing, r.splitting != .failed(at: r.cursor) else { continue }
      r.splitting = .probing
      return .split(r, after: r.cursor ?? r.lower ?? "", upper: r.upper, pageFirst: r.pageFirst)
    }
    return nil
  }

  private func fail(_ r: KeyRange, _ error: Error) {
    r.error = error
    r.requests = .finished
    condition.broadcast()
  }

  /// Lists the next page of `r`; returns whether enough pages are timed to decide the width.
  private func listPage(_ r: KeyRange) -> Bool {
    let page: ListObjectsV2Page
    let started = now()
    do {
      let startAfter = r.token == nil ? r.lower.map { target.prefix + $0 } : nil
      page = try target.client.listObjectsV2(
        bucket: target.bucket, prefix: target.listPrefix, continuationToken: r.token, startAfter: startAfter,
        maxKeys: target.pageSize)
    } catch {
      condition.withLock { fail(r, error) }
      return false
    }
    let seconds = now() - started
    condition.lock()
    defer { condition.unlock() }
    if closed { return false }
    var decide = false
    do {
      // Only one lister works on a range at a time, under the lock here.
      let objects = try r.pageGuard.accept(page)
      let more = page.isTruncated
      if r.firstKey == .unknown, !objects.isEmpty || !more {
        let firstSeen = objects.first?.key
        r.firstKey = .known(firstSeen)
        if let check = r.resumeCheck {
          let expected = check.key
          guard expected == firstSeen else {
            throw ListingOrderError(
              kind: .rangeHandOff, side: side, previous: r.lower ?? "", key: firstSeen ?? "", location: location,
              detail:
                "the checkpoint saw the listing after it start with \(describe(expected)), now it starts with \(describe(firstSeen))"
            )
          }
          r.resumeCheck = nil
          if let lower = r.lower { record(RangeHandOff(after: lower, first: firstSeen)) }
        }
      }
      var inRange: [ListedObject] = []
      inRange.reserveCapacity(objects.count)
      var previous = r.cursor ?? r.lower
      var overshootAt: Int? = nil
      for (i, o) in objects.enumerated() {
        if let upper = r.upper, KeyOrder.compare(o.key, upper) > 0 {
          overshootAt = i
          break
        }
        if let p = previous, KeyOrder.compare(p, o.key) >= 0 {
          // The range's lower bound again (not a key listed twice): the server ignored start-after.
          throw ListingOrderError(
            kind: KeyOrder.compare(p, o.key) == 0 && (r.cursor != nil || inRange.count > 0) ? .duplicate : .backwards,
            side: side, previous: p, key: o.key,
            location: location)
        }
        inRange.append(o)
        previous = o.key
      }
      if let at = overshootAt {
        // The rest of the page is already here: it must rise too (a cheap extra check of the order).
        var p = objects[at].key
        for o in objects[(at + 1)...] {
          guard KeyOrder.compare(p, o.key) < 0 else {
            throw ListingOrderError(kind: .backwards, side: side, previous: p, key: o.key, location: location)
          }
          p = o.key
        }
        r.overshoot = objects[at].key
        r.requests = .finished
      } else if !more {
        r.overshoot = nil
        r.requests = .finished
      } else {
        r.token = page.nextContinuationToken
        r.requests = .idle
      }
      if let last = inRange.last {
        r.cursor = last.key
        r.pageFirst = inRange[0].key
      }
      if !inRange.isEmpty { r.pages.append(inRange) }
      // A full page after the first (which also pays for the connection) is timed.
      if case .timing(var timed) = widening, page.isTruncated, r.pagesRead > 1 {
        timed.append(seconds)
        widening = timed.count >= ListingWidth.pagesToTime ? .probing : .timing(timed)
        if case .probing = widening {
          pageSeconds = timed
          decide = true
        }
      }
      progress?.listed(side, count: inRange.count, finished: r.finished && r.upper == through)
      logger.debug(
        "Listed page \(r.pagesRead) of a range of \(side) bucket \(target.bucket): \(inRange.count) objects (range after \(r.lower.map { "'\($0)'" } ?? "the start") up to \(r.upper.map { "'\($0)'" } ?? "the end"))"
      )
      condition.broadcast()
    } catch {
      fail(r, error)
    }
    return decide
  }

  // MARK: Width

  /// Full pages' durations, kept for the decision.
  private var pageSeconds: [Double] = []

  /// Times two one-key listings after `r`'s last key and widens to `listers` when `ListingWidth` says the
  /// network sets the pace. A failed probe keeps one stream.
  private func decideWidth(after r: KeyRange) {
    let after = condition.withLock { r.cursor ?? r.lower }
    var oneKey: [Double] = []
    do {
      for _ in 0..<2 {
        let started = now()
        _ = try target.client.listObjectsV2(
          bucket: target.bucket, prefix: target.listPrefix, startAfter: after.map { target.prefix + $0 }, maxKeys: 1)
        oneKey.append(now() - started)
      }
    } catch {
      logger.debug("Width probe of \(side) bucket \(target.bucket) failed: \(error)")
    }
    condition.lock()
    defer { condition.unlock() }
    widening = .decided
    let page = pageSeconds.sorted()[pageSeconds.count / 2]
    let figures =
      "a \(target.pageSize)-key page took \(Int((page * 1000).rounded())) ms, a one-key listing \(oneKey.min().map { "\(Int(($0 * 1000).rounded())) ms" } ?? "failed")"
    if ListingWidth.widen(pageSeconds: pageSeconds, oneKeySeconds: oneKey) {
      active = listers
      pageBudget = ListingWidth.widePrefetchPages * (listers + 2)
      logger.info(
        "Listing of the \(side) bucket: \(listers) key ranges at once from here (\(figures): the network sets the pace)"
      )
    } else {
      logger.info("Listing of the \(side) bucket: one stream (\(figures): the server sets the pace)")
    }
    condition.broadcast()
  }

  // MARK: Splitting

  private func trySplit(_ r: KeyRange, after: String, upper: String?, pageFirst: String?) {
    var points: [String] = []
    do {
      let pieces = condition.withLock { max(2, min(active, maxRanges - ranges.count + 1)) }
      points = try splitPoints(after: after, upper: upper, pageFirst: pageFirst, pieces: pieces)
    } catch {
      // A failed probe only costs the split; the listing itself reports real trouble.
      logger.debug("Split probe of \(side) bucket \(target.bucket) failed: \(error)")
    }
    condition.lock()
    defer { condition.unlock() }
    r.splitting = .allowed
    // Points above what the range has listed by now, below its bound, rising.
    var valid: [String] = []
    if !r.finished, r.upper == upper {
      var low = r.cursor ?? r.lower ?? ""
      for m in points where KeyOrder.compare(m, low) > 0 && (upper.map { KeyOrder.compare(m, $0) < 0 } ?? true) {
        valid.append(m)
        low = m
      }
    }
    guard !valid.isEmpty, let at = ranges.firstIndex(where: { $0 === r }) else {
      r.splitting = .failed(at: r.cursor)
      condition.broadcast()
      return
    }
    r.upper = valid[0]
    let added = zip(valid, valid.dropFirst().map { Optional($0) } + [upper]).map {
      KeyRange(lower: $0, upper: $1, target: target)
    }
    ranges.insert(contentsOf: added, at: at + 1)
    splitCount += added.count
    logger.debug(
      "Split a range of \(side) bucket \(target.bucket) at \(valid.map { "'\($0)'" }.joined(separator: ", ")) (\(ranges.count) ranges ahead)"
    )
    condition.broadcast()
  }

  /// Keys `m` with `after < m < upper` such that something is listed after `m` within the range: up to
  /// `pieces - 1` evenly spaced CommonPrefixes of a delimiter listing at the shallowest level that has
  /// one, else a point a few pages ahead extrapolated from the last page's span (`pageFirst` to `after`),
  /// else a byte midpoint; either of the last two only when a one-key probe shows a key in the range
  /// after it.
  private func splitPoints(after: String, upper: String?, pageFirst: String?, pieces: Int) throws -> [String] {
    // The root and the ancestors of `after`'s own directory: their CommonPrefixes are sibling directories.
    // (`after`'s own directory mostly holds objects, which would fill the answer.)
    var levels: [String] = [""]
    let bytes = Array(after.utf8)
    let slashes = bytes.indices.filter { bytes[$0] == UInt8(ascii: "/") }
    for i in slashes.dropLast().prefix(3) { levels.append(String(decoding: bytes[...i], as: UTF8.self)) }
    for level in levels {
      if let upper, !upper.hasPrefixBytes(level), KeyOrder.compare(level, upper) >= 0 { break }
      let page = try target.client.listObjectsV2(
        bucket: target.bucket, prefix: target.prefix + level, startAfter: target.prefix + after, maxKeys: 1000,
        delimiter: "/")
      let candidates = try page.commonPrefixes.compactMap { p -> String? in
        let rel = try ListingPageGuard(target: target).relative(p, what: "common prefix")
        guard KeyOrder.compare(rel, after) > 0, upper.map({ KeyOrder.compare(rel, $0) < 0 }) ?? true else { return nil }
        return rel
      }
      if !candidates.isEmpty {
        let k = min(pieces, candidates.count + 1)
        return (1..<k).map { candidates[$0 * candidates.count / k] }
      }
    }
    let ahead = pageFirst.flatMap { KeyMidpoint.extrapolate(from: $0, to: after, pages: 8, below: upper) }
    for m in [ahead, KeyMidpoint.between(after, upper)].compactMap({ $0 }) {
      let probe = try target.client.listObjectsV2(
        bucket: target.bucket, prefix: target.listPrefix, startAfter: target.prefix + m, maxKeys: 1)
      if let first = try ListingPageGuard(target: target).stripPrefix(probe.objects).first,
        KeyOrder.compare(first.key, m) > 0,
        upper.map({ KeyOrder.compare(first.key, $0) <= 0 }) ?? true
      {
        return [m]
      }
    }
    return []
  }
}

/// A key roughly halfway between two keys in UTF-8 byte order, made of printable ASCII after their
/// common prefix.
public enum KeyMidpoint {
  /// A key about `pages` page spans beyond `last`, where one page ran from `first` to `last`: at the first
  /// byte where they differ, `last`'s byte moves on by `pages` times the page's step (`bulk/obj-00123` to
  /// `bulk/obj-01122` gives `bulk/obj-05`). Nil when that leaves printable ASCII or is not below `high`.
  /// A run of decimal digits where they differ is counted on as a number (`obj-00049` after `obj-00000`
  /// gives `obj-00441` for 8 pages), so numbered keys split evenly.
  public static func extrapolate(from first: String, to last: String, pages: Int, below high: String?) -> String? {
    let a = Array(first.utf8)
    let c = Array(last.utf8)
    guard let i = zip(a, c).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset, c[i] > a[i],
      c[i] < 0x7F
    else { return nil }
    func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    var candidate: [UInt8]? = nil
    if isDigit(a[i]) && isDigit(c[i]) {
      var j = i
      while j > 0 && isDigit(c[j - 1]) { j -= 1 }
      var k = i
      while k < c.count && isDigit(c[k]) { k += 1 }
      var ka = i
      while ka < a.count && isDigit(a[ka]) { ka += 1 }
      if k == ka, k - j <= 18, let nc = Int(String(decoding: c[j..<k], as: UTF8.self)),
        let na = Int(String(decoding: a[j..<k], as: UTF8.self))
      {
        let (jump, o1) = pages.multipliedReportingOverflow(by: nc - na)
        let (sum, o2) = nc.addingReportingOverflow(jump)
        let target = String(sum)
        if !o1 && !o2, target.utf8.count <= k - j {
          candidate =
            Array(c[..<j]) + Array(repeating: UInt8(ascii: "0"), count: k - j - target.utf8.count) + Array(target.utf8)
        }
      }
    }
    if candidate == nil {
      let (jump, overflow) = pages.multipliedReportingOverflow(by: Int(c[i] - a[i]))
      if !overflow, jump <= 0x7E - Int(c[i]) { candidate = Array(c[..<i]) + [UInt8(Int(c[i]) + jump)] }
    }
    guard let bytes = candidate, let m = String(validating: bytes, as: UTF8.self), KeyOrder.compare(last, m) < 0,
      high.map({ KeyOrder.compare(m, $0) < 0 }) ?? true
    else { return nil }
    return m
  }

  /// Some `m` with `low < m < high` (`high == nil`: no upper bound), or nil when none is easily found.
  public static func between(_ low: String, _ high: String?) -> String? {
    let lo = Array(low.utf8)
    let hi = high.map { Array($0.utf8) }
    var m: [UInt8] = []
    var bounded = hi != nil
    for i in 0..<256 {
      if bounded, let hi {
        guard i < hi.count else { return nil }
        if i < lo.count && lo[i] == hi[i] {
          m.append(lo[i])
          continue
        }
      }
      let l = i < lo.count ? Int(lo[i]) : 0x1F
      let h = bounded ? min(Int(hi![i]), 0x7F) : 0x7F
      if h - l >= 2 {
        m.append(UInt8((l + h) / 2))
        break
      }
      guard i < lo.count else { return nil }
      // Here lo[i] < hi[i]: once m has lo[i], it is below `high` whatever follows.
      bounded = false
      m.append(lo[i])
    }
    guard let s = String(validating: m, as: UTF8.self), KeyOrder.compare(low, s) < 0,
      high.map({ KeyOrder.compare(s, $0) < 0 }) ?? true
    else { return nil }
    return s
  }
}
