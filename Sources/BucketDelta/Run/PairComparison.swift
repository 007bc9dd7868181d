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
  /// The deep check, when asked for.
  public var deep: DeepOptions?
  public init() {}
}

/// How the deep check runs.
public struct DeepOptions: Sendable {
  public var worker: WorkerConfig
  public var processes: Int
  /// Keys held between the merge and the report (`--max_queue_size`).
  public var maxQueueSize: Int
  /// Worker restarts allowed before the run fails.
  public var maxRestarts: Int

  public init(worker: WorkerConfig, processes: Int, maxQueueSize: Int, maxRestarts: Int? = nil) {
    self.worker = worker
    self.processes = processes
    self.maxQueueSize = maxQueueSize
    self.maxRestarts = maxRestarts ?? max(3, processes)
  }
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
  public func run() throws -> PairResult {
    var sortedSides: Set<Side> = []
    let sink = ResultSink()
    var pool: WorkerPool?
    if let deep = options.deep {
      logger.info("Starting \(deep.processes) deep-check worker processes")
      let p = try WorkerPool(
        config: deep.worker, processes: deep.processes,
        perWorkerInFlight: max(2 * deep.worker.numConnections, 1), maxRestarts: deep.maxRestarts, logger: logger
      ) { sink.deliver($0) }
      try p.start()
      pool = p
    }
    defer { pool?.shutdown() }
    var firstSeq = 0
    while true {
      do {
        var result = try runOnce(sorting: sortedSides, pool: pool, sink: sink, firstSeq: &firstSeq)
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
    sorting sortedSides: Set<Side>, pool: WorkerPool?, sink: ResultSink, firstSeq: inout Int
  ) throws -> PairResult {
    let report = try ReportFile(path: reportPath)
    let (src, srcListing) = try stream(.source, sorted: sortedSides.contains(.source))
    defer { src.close(); srcListing.close() }
    let (dst, dstListing) = try stream(.destination, sorted: sortedSides.contains(.destination))
    defer { dst.close(); dstListing.close() }
    logger.info("Starting bucket comparison")
    logger.info("Mode: latest objects only")

    let merge = MergeJoin(source: src, destination: dst)
    let window = ReorderWindow(firstSeq: firstSeq, compareTags: options.deep?.worker.compareTags ?? false)
    sink.window = window
    let capacity = max(1, options.deep?.maxQueueSize ?? 1)
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
        pool.submit(WorkItem(seq: seq, key: event.key))
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
