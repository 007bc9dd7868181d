import Foundation
import Logging
import S3

/// How each side of a pair is listed, and the one place that decides what happens when a listing
/// breaks the order the merge relies on: key ranges, then one stream, then one stream sorted by UTF-8
/// bytes in bounded memory. The per-page checks (`ListingPageGuard`), the range hand-off check
/// (`PartitionedListing`) and the order check (`OrderGuard`) raise `ListingOrderError`; this type
/// turns it into the next mode, or gives up. A new listing quirk is a new check that raises the error
/// and, if it needs one, a new mode here.
struct ListingStrategy {
  /// How one side is listed in one attempt.
  enum Mode: Equatable {
    case partitioned(Int, ListerWidth)
    case single, sorted

    var description: String {
      switch self {
      case .partitioned(let n, .fixed): return "key ranges, \(n) listed at once"
      case .partitioned(let n, .adaptive):
        return "one stream, widened to \(n) key ranges if its first pages wait on the network"
      case .single: return "single stream"
      case .sorted: return "single stream, sorted by UTF-8 bytes (bounded memory, spilled to disk)"
      }
    }
  }

  /// Key ranges per side when ranges are used (`range_listers`); 1 lists each side as one stream;
  /// `Tuning.adaptiveRangeListers` (auto) starts with one and widens to `Tuning.adaptiveMaxListers`.
  let rangeListers: Int
  /// Sides whose ranges did not join up: listed as one stream.
  private(set) var singleStream: Set<Side> = []
  /// Sides found out of byte order: listed as one stream and sorted.
  private(set) var sorted: Set<Side> = []

  /// The strategy of a fresh comparison, or of one resumed from `checkpoint` (which keeps the sides
  /// that fell back, so a resume does not try again what already failed).
  /// Sides read from an S3 Inventory: in the files' order, else sorted (no key ranges).
  private(set) var inventorySides: Set<Side> = []

  init(
    rangeListers: Int, resuming checkpoint: Checkpoint? = nil, sorted sortedFromStart: Set<Side> = [],
    inventory: Set<Side> = []
  ) {
    self.rangeListers = rangeListers
    sorted = sortedFromStart
    inventorySides = inventory
    if let checkpoint {
      sorted.formUnion(checkpoint.sortedSides.compactMap(Side.init))
      singleStream = Set((checkpoint.singleStreamSides ?? []).compactMap(Side.init))
    }
  }

  func mode(_ side: Side) -> Mode {
    if sorted.contains(side) { return .sorted }
    if singleStream.contains(side) || rangeListers == 1 || inventorySides.contains(side) { return .single }
    if rangeListers == Tuning.adaptiveRangeListers { return .partitioned(Tuning.adaptiveMaxListers, .adaptive) }
    return .partitioned(rangeListers, .fixed)
  }

  /// Moves the side of `e` to its next mode and returns the warning to log, or returns nil when no
  /// fallback is left (then `e` is the pair's error).
  mutating func fallBack(after e: ListingOrderError) -> String? {
    if case .partitioned = mode(e.side), e.kind != .duplicate {
      singleStream.insert(e.side)
      return
        "\(e.description). Comparing again with the \(e.side) bucket listed as a single stream (its server's start-after or order does not allow key ranges)"
    }
    // A shard's single stream that does not join up at its bound lists like one out of order.
    if e.kind != .duplicate, !sorted.contains(e.side) {
      sorted.insert(e.side)
      // Inventories of one producer share their order: both are sorted at once, not one attempt each (a
      // 200,000-row pair took 10.8 s in three attempts).
      if inventorySides.contains(e.side) { sorted.formUnion(inventorySides) }
      return
        "\(e.description). Comparing again with the \(e.side) listing sorted by UTF-8 bytes (bounded memory, spilled to disk)"
    }
    return nil
  }

  /// Opens `side`'s listing in its mode, behind the order guard.
  func open(
    _ side: Side, target: ListingTarget, resumeFrom: RangeHandOff?, options: PairOptions, logger: Logger
  ) throws -> SideListing {
    let mode = mode(side)
    logger.info("Listing all objects from \(side) bucket: \(target.bucket)")
    logger.info("Listing mode of the \(side) bucket: \(mode.description)")
    let location = "bucket '\(target.bucket)' at \(target.client.endpoint)"
    // Where a sorted side spills its runs (listings and inventories alike).
    let sortDirectory = options.temporaryDirectory.appendingPathComponent(
      "bucket-delta-sort-\(getpid())-\(side)-\(UUID().uuidString)")
    if let snapshot = target.inventory {
      logger.info(
        "Reading the \(side) side from the S3 Inventory \(snapshot.manifestName) (\(snapshot.manifest.files.count) files)"
      )
      let rows = InventoryListing(
        snapshot, prefix: target.prefix,
        directory: options.temporaryDirectory.appendingPathComponent(
          "bucket-delta-inventory-\(getpid())-\(side)-\(UUID().uuidString)"))
      let location = "S3 Inventory \(snapshot.manifestName)"
      // A shard keeps its range of the inventory's rows; rows in the files' order are all read (the order
      // guard must see every one), sorted ones end at the range's end.
      let interval = target.interval
      guard mode == .sorted else {
        let guarded = OrderGuard(rows, side: side, location: location)
        return SideListing(
          stream: interval.isAll ? guarded : IntervalFilter(guarded, interval: interval, endEarly: false),
          stoppers: [rows])
      }
      let sorted = try ExternalSorter(runSize: options.sortRunSize, directory: sortDirectory).sorted(rows)
      let guarded = OrderGuard(sorted, side: side, location: location)
      return SideListing(
        stream: interval.isAll ? guarded : IntervalFilter(guarded, interval: interval), stoppers: [sorted, rows])
    }
    let interval = target.interval
    if !interval.isAll { logger.info("Listing only the shard's keys of the \(side) bucket: \(interval)") }
    // A shard lists from its lower bound and stops at its upper one; the tail check proves it joins up.
    var bounded = target
    bounded.startAfter = interval.after
    func tail(_ stream: ObjectStream, overshoot: (() -> String?)? = nil) -> ObjectStream {
      interval.isAll
        ? stream
        : RangeTail(stream, target: target, interval: interval, side: side, location: location, overshoot: overshoot)
    }
    func sideListing(_ stream: ObjectStream, stoppers: [ObjectStream], partitioned: PartitionedListing? = nil)
      -> SideListing
    {
      SideListing(stream: stream, stoppers: stoppers, partitioned: partitioned, tail: stream as? RangeTail)
    }
    switch mode {
    case .partitioned(let n, let width):
      let listing = PartitionedListing(
        target: bounded, side: side, listers: n, width: width, resumeFrom: resumeFrom, through: interval.through,
        logger: logger, progress: options.progress)
      return sideListing(
        tail(OrderGuard(listing, side: side, location: location), overshoot: { listing.overshootPastBound }),
        stoppers: [listing], partitioned: listing)
    case .single:
      let listing = PagedListing(target: bounded, side: side, logger: logger, progress: options.progress)
      return sideListing(tail(OrderGuard(listing, side: side, location: location)), stoppers: [listing])
    case .sorted:
      // Out of byte order, a server's start-after skips keys of the range: the whole listing, sorted, filtered.
      var full = target
      full.interval = .all
      let listing = PagedListing(target: full, side: side, logger: logger, progress: options.progress)
      let sorter = ExternalSorter(runSize: options.sortRunSize, directory: sortDirectory)
      do {
        let sorted = try sorter.sorted(listing)
        let guarded = OrderGuard(sorted, side: side, location: location)
        guard !interval.isAll else { return SideListing(stream: guarded, stoppers: [sorted, listing]) }
        let counter = RangeCounter(guarded, boundaries: target.planBoundaries)
        return SideListing(
          stream: IntervalFilter(counter, interval: interval), stoppers: [sorted, listing], counter: counter)
      } catch {
        listing.close()
        throw error
      }
    }
  }
}

/// A side's listing: the stream to read, what to close, and the partitioned listing if there is one.
struct SideListing {
  var stream: ObjectStream
  var stoppers: [ObjectStream]
  var partitioned: PartitionedListing?
  /// A shard's bound on a listing in the server's order (nil for a sorted full listing).
  var tail: RangeTail? = nil
  /// A shard's sorted full listing: counts every range of the plan.
  var counter: RangeCounter? = nil
  func close() { for s in stoppers { s.close() } }

  /// What `merge` needs of this side of a shard (nil outside shards), once the listing has ended.
  func shardEdges() throws -> ShardEdges? {
    if let counter { return ShardEdges(range_counts: try counter.drain()) }
    return tail?.edges
  }

  /// Watches for keys that only start with a prefix lacking its trailing `/`.
  mutating func watchPrefix(_ target: ListingTarget, side: Side, warnings: PrefixWarnings, logger: Logger) {
    guard PrefixBoundaryWatch.applies(to: target.prefix) else { return }
    stream = PrefixBoundaryWatch(stream, side: side, prefix: target.prefix, warnings: warnings, logger: logger)
  }
}
