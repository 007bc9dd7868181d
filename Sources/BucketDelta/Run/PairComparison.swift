import Foundation
import Logging
import S3

/// Tuning of one pair's comparison.
public struct PairOptions: Sendable {
  public var reportFormat: ReportFormat = .text
  /// Log progress every this many objects.
  public var numObjectsReport: Int = 1000
  /// Objects held in memory per sorted run when a listing has to be sorted.
  public var sortRunSize: Int = 200_000
  /// Where sort runs are spilled.
  public var temporaryDirectory: URL = FileManager.default.temporaryDirectory
  /// Deep check: HeadObject/GetObjectTagging through the worker pool given to `run`.
  public var deep = false
  /// Keys held between the merge and the report (`--max_queue_size`).
  public var maxQueueSize = 100
  public init() {}
}

/// Counters of one pair's comparison.
public struct PairResult: Sendable, Equatable {
  public var objectsProcessed = 0
  public var onlyInSource = 0
  public var onlyInDestination = 0
  public var different = 0
  /// Keys the deep check could not check (they are reported, and make the run fail).
  public var errors = 0
  /// Deep-check workers restarted after they died.
  public var workerRestarts = 0
  public var sourceObjects = 0
  public var destinationObjects = 0
  /// Sides whose listing was not in byte order and had to be sorted.
  public var sortedSides: [Side] = []

  public var objectsWithDifferences: Int { onlyInSource + onlyInDestination + different + errors }
  public init() {}
}

/// Compares one bucket pair: lists both sides, merge-joins, checks, writes the report.
public struct PairComparison {
  public var source: ListingTarget
  public var destination: ListingTarget
  public var reportPath: String
  public var options: PairOptions
  public var logger: Logger
  /// When the whole run started (for "total elapsed").
  public var startTime: Date

  public init(
    source: ListingTarget, destination: ListingTarget, reportPath: String, options: PairOptions,
    logger: Logger, startTime: Date = Date()
  ) {
    self.source = source
    self.destination = destination
    self.reportPath = reportPath
    self.options = options
    self.logger = logger
    self.startTime = startTime
  }

  /// Runs the comparison. A listing found out of byte order is listed again and sorted in
  /// bounded memory, and the report is rewritten from the start; the log says so.
  /// - Parameters:
  ///   - pool: the run's worker pool (required for deep checks), with `pairIndex` this pair's index
  ///     in its configuration and `router` where its results arrive.
  public func run(pool: WorkerPool? = nil, pairIndex: Int = 0, router: ResultRouter? = nil) throws -> PairResult {
    var sortedSides: Set<Side> = []
    let sink = ResultSink()
    if options.deep {
      guard pool != nil, let router else { throw WorkerError("a deep check needs the worker pool") }
      router.register(pair: pairIndex, sink: sink)
    }
    defer { router?.unregister(pair: pairIndex) }
    let pool = options.deep ? pool : nil
    var firstSeq = 0
    while true {
      do {
        var result = try runOnce(
          sorting: sortedSides, pool: pool, pairIndex: pairIndex, sink: sink, firstSeq: &firstSeq)
        result.sortedSides = [Side.source, .destination].filter(sortedSides.contains)
        result.workerRestarts = pool?.restartCount ?? 0
        return result
      } catch let e as ListingOrderError where e.kind == .backwards && !sortedSides.contains(e.side) {
        logger.warning(
          "\(e.description). Comparing again with the \(e.side) listing sorted by UTF-8 bytes (bounded memory, spilled to disk)")
        sortedSides.insert(e.side)
      }
    }
  }

  private func stream(_ side: Side, sorted: Bool) throws -> (ObjectStream, PagedListing) {
    let target = side == .source ? source : destination
    logger.info("Listing all objects from \(side) bucket: \(target.bucket)")
    let listing = PagedListing(target: target, side: side, logger: logger)
    let location = "bucket '\(target.bucket)' at \(target.client.endpoint)"
    guard sorted else { return (OrderGuard(listing, side: side, location: location), listing) }
    let dir = options.temporaryDirectory.appendingPathComponent(
      "bucket-delta-sort-\(getpid())-\(side)-\(UUID().uuidString)")
    let sorter = ExternalSorter(runSize: options.sortRunSize, directory: dir)
    do {
      return (OrderGuard(try sorter.sorted(listing), side: side, location: location), listing)
    } catch {
      listing.close()
      throw error
    }
  }

  private func runOnce(
    sorting sortedSides: Set<Side>, pool: WorkerPool?, pairIndex: Int, sink: ResultSink, firstSeq: inout Int
  ) throws -> PairResult {
    let report = try ReportFile(path: reportPath)
    let (src, srcListing) = try stream(.source, sorted: sortedSides.contains(.source))
    defer { src.close(); srcListing.close() }
    let (dst, dstListing) = try stream(.destination, sorted: sortedSides.contains(.destination))
    defer { dst.close(); dstListing.close() }
    logger.info("Starting bucket comparison")
    logger.info("Mode: latest objects only")

    let merge = MergeJoin(source: src, destination: dst)
    let window = ReorderWindow(firstSeq: firstSeq)
    sink.window = window
    let capacity = max(1, options.deep ? options.maxQueueSize : 1)
    let failure: () -> Error? = { pool?.failure }
    var result = PairResult()
    var lastReport = Date()

    func write(_ ready: [(MergeEvent, ReorderWindow.Outcome)]) throws {
      for (_, outcome) in ready {
        result.objectsProcessed += 1
        if case .difference(let d) = outcome {
          switch d.status {
          case .onlyInSource: result.onlyInSource += 1
          case .onlyInDestination: result.onlyInDestination += 1
          case .different: result.different += 1
          case .error:
            result.errors += 1
            logger.error("Deep check failed for key \(d.key): \(d.error ?? "")")
          }
          try report.write(
            options.reportFormat.line(for: d, sourceBucket: source.bucket, destinationBucket: destination.bucket))
        }
        if result.objectsProcessed % options.numObjectsReport == 0 {
          let now = Date()
          logger.info(
            "Processed \(result.objectsProcessed) objects in \(Self.seconds(now.timeIntervalSince(lastReport))) seconds, total elapsed \(Self.seconds(now.timeIntervalSince(startTime))) seconds"
          )
          lastReport = now
        }
      }
    }

    while let event = try merge.next() {
      let seq = firstSeq
      firstSeq += 1
      if let pool, case .inBoth = event {
        window.add(seq: seq, event: event, outcome: nil)
        pool.submit(WorkItem(pair: pairIndex, seq: seq, key: event.key))
      } else {
        window.add(
          seq: seq, event: event, outcome: ShallowCheck.evaluate(event).map { .difference($0) } ?? .identical)
      }
      try write(try window.take(untilBelow: capacity, failure: failure))
    }
    try write(try window.take(untilBelow: 1, failure: failure))
    try report.close()
    result.sourceObjects = srcListing.listedCount
    result.destinationObjects = dstListing.listedCount
    return result
  }

  static func seconds(_ t: TimeInterval) -> String { String(format: "%.2f", t) }
}

/// Routes worker results to the current attempt's window.
final class ResultSink: @unchecked Sendable {
  // @unchecked: `window` is guarded by `lock`.
  private let lock = NSLock()
  private var _window: ReorderWindow?
  var window: ReorderWindow? {
    get { lock.withLock { _window } }
    set { lock.withLock { _window = newValue } }
  }
  func deliver(_ r: WorkResult) { window?.complete(r) }
}

/// Routes worker results to the pair they belong to.
public final class ResultRouter: @unchecked Sendable {
  // @unchecked: `sinks` is guarded by `lock`.
  private let lock = NSLock()
  private var sinks: [Int: ResultSink] = [:]
  public init() {}
  func register(pair: Int, sink: ResultSink) { lock.withLock { sinks[pair] = sink } }
  func unregister(pair: Int) { lock.withLock { sinks[pair] = nil } }
  public func deliver(_ r: WorkResult) { lock.withLock { sinks[r.pair] }?.deliver(r) }
}
