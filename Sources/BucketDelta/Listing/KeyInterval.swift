import Foundation
import S3

/// A shard's share of a pair's key space: the keys `k` with `after < k <= through` in UTF-8 byte order
/// (nil: unbounded on that side), relative to each side's prefix. Boundaries of consecutive shards are
/// shared (`through` of one is `after` of the next), so the shards of a plan cover every key exactly once,
/// whatever keys exist.
public struct KeyInterval: Codable, Sendable, Equatable, CustomStringConvertible {
  public var after: String?
  public var through: String?
  public init(after: String?, through: String?) {
    self.after = after
    self.through = through
  }
  public static let all = KeyInterval(after: nil, through: nil)
  public var isAll: Bool { after == nil && through == nil }

  public func contains(_ key: String) -> Bool {
    (after.map { KeyOrder.compare(key, $0) > 0 } ?? true) && (through.map { KeyOrder.compare(key, $0) <= 0 } ?? true)
  }
  /// Whether `key` lies beyond the upper bound.
  func isBeyond(_ key: String) -> Bool { through.map { KeyOrder.compare(key, $0) > 0 } ?? false }

  public var description: String {
    "after \(after.map { "'\($0)'" } ?? "the start") through \(through.map { "'\($0)'" } ?? "the end")"
  }
}

/// Ends a listing started after a shard's lower bound at the shard's upper bound, and proves that the
/// server's listing joins up there (the check `PartitionedListing` makes between its ranges): the first key
/// past the bound (the *overshoot*, seen by this listing or reported by `overshoot`) must be the first key
/// the server lists after the bound, and a listing that reached the end must find nothing after it. The
/// next shard lists from that bound, so shards that all pass cover the server's whole listing; a server
/// whose order is not UTF-8 byte order fails here or in the order guard (`ListingOrderError`), and the
/// side falls back to a sorted full listing filtered to the shard (`IntervalFilter`).
final class RangeTail: ObjectStream {
  private let base: ObjectStream
  private let target: ListingTarget
  private let interval: KeyInterval
  private let side: Side
  private let location: String
  /// For a base that stops at the bound itself (key ranges): its first key past the bound (nil: the end).
  private let overshoot: (() -> String?)?
  private var done = false
  private var first: String??
  private var listed = 0
  /// Where this listing met its neighbours, once it has ended: `merge` checks that shard *i*'s overshoot
  /// is shard *i+1*'s first key (the one test that also catches a server losing keys after start-after).
  private(set) var edges: ShardEdges?

  init(
    _ base: ObjectStream, target: ListingTarget, interval: KeyInterval, side: Side, location: String,
    overshoot: (() -> String?)? = nil
  ) {
    self.base = base
    self.target = target
    self.interval = interval
    self.side = side
    self.location = location
    self.overshoot = overshoot
  }

  func next() throws -> ListedObject? {
    if done { return nil }
    guard let o = try base.next() else {
      done = true
      let past = overshoot?() ?? nil
      try checkTail(past)
      edges = ShardEdges(first: first ?? past, overshoot: past, listed: listed)
      return nil
    }
    if first == nil { first = .some(o.key) }
    if let after = interval.after, KeyOrder.compare(o.key, after) <= 0 {
      throw ListingOrderError(
        kind: .backwards, side: side, previous: after, key: o.key, location: location,
        detail: "listed at or before the shard's lower bound")
    }
    if interval.isBeyond(o.key) {
      done = true
      base.close()
      try checkTail(o.key)
      edges = ShardEdges(first: first ?? o.key, overshoot: o.key, listed: listed)
      return nil
    }
    listed += 1
    return o
  }

  /// One one-key listing after the upper bound: it must start with `overshoot`.
  private func checkTail(_ overshoot: String?) throws {
    guard let through = interval.through else { return }
    let page = try target.client.listObjectsV2(
      bucket: target.bucket, prefix: target.listPrefix, startAfter: target.prefix + through, maxKeys: 1)
    let first = try ListingPageGuard(target: target).stripPrefix(page.objects).first?.key
    guard first == overshoot else {
      throw ListingOrderError(
        kind: .rangeHandOff, side: side, previous: through, key: first ?? "", location: location,
        detail:
          "this shard's listing went on past its upper bound with \(overshoot.map { "'\($0)'" } ?? "(the end)"), but listing after the bound starts with \(first.map { "'\($0)'" } ?? "(the end)")"
      )
    }
  }

  func close() { base.close() }
}

/// Where a shard's listing of one side met its neighbours: the first key listed after its lower bound and
/// the first key past its upper bound (nil: none).
/// the first key past its upper bound (nil: none), and the keys it listed in its range; or, for a side listed
/// in full and sorted, the keys in every range of the plan (`range_counts`), which `merge` holds the other
/// shards' `listed` to: a neighbour of a sorted listing cannot be checked by its edges.
public struct ShardEdges: Codable, Sendable, Equatable {
  public var first: String?
  public var overshoot: String?
  public var listed: Int?
  public var range_counts: [Int]?
}

/// Counts the keys of a listing in UTF-8 byte order per range of a plan (`boundaries`), for `merge`.
final class RangeCounter: ObjectStream {
  private let base: ObjectStream
  private let boundaries: [String]
  private var range = 0
  private(set) var counts: [Int]
  private var ended = false
  init(_ base: ObjectStream, boundaries: [String]) {
    self.base = base
    self.boundaries = boundaries
    counts = Array(repeating: 0, count: boundaries.count + 1)
  }
  func next() throws -> ListedObject? {
    guard let o = try base.next() else {
      ended = true
      return nil
    }
    while range < boundaries.count && KeyOrder.compare(o.key, boundaries[range]) > 0 { range += 1 }
    counts[range] += 1
    return o
  }
  /// Reads the rest (already listed and sorted: no requests) so that every range is counted.
  func drain() throws -> [Int] {
    while !ended, try next() != nil {}
    return counts
  }
  func close() { base.close() }
}

/// The keys of a listing in UTF-8 byte order that lie in `interval` (a sorted full listing, for a shard
/// whose server does not list in byte order).
final class IntervalFilter: ObjectStream {
  private let base: ObjectStream
  private let interval: KeyInterval
  /// Stop at the first key past the range (a stream known to be in order), or read on to the end.
  private let endEarly: Bool
  private var done = false
  init(_ base: ObjectStream, interval: KeyInterval, endEarly: Bool = true) {
    self.base = base
    self.interval = interval
    self.endEarly = endEarly
  }
  func next() throws -> ListedObject? {
    while !done, let o = try base.next() {
      if endEarly && interval.isBeyond(o.key) {
        done = true
        break
      }
      if interval.contains(o.key) { return o }
    }
    done = true
    return nil
  }
  func close() { base.close() }
}
