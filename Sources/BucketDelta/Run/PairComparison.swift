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
  public init() {}
}

/// Counters of one pair's comparison.
public struct PairResult: Sendable, Equatable {
  public var objectsProcessed = 0
  public var onlyInSource = 0
  public var onlyInDestination = 0
  public var different = 0
  public var sourceObjects = 0
  public var destinationObjects = 0
  /// Sides whose listing was not in byte order and had to be sorted.
  public var sortedSides: [Side] = []

  public var objectsWithDifferences: Int { onlyInSource + onlyInDestination + different }
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
    while true {
      do {
        var result = try runOnce(sorting: sortedSides)
        result.sortedSides = [Side.source, .destination].filter(sortedSides.contains)
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

  private func runOnce(sorting sortedSides: Set<Side>) throws -> PairResult {
    let report = try ReportFile(path: reportPath)
    let (src, srcListing) = try stream(.source, sorted: sortedSides.contains(.source))
    defer { src.close(); srcListing.close() }
    let (dst, dstListing) = try stream(.destination, sorted: sortedSides.contains(.destination))
    defer { dst.close(); dstListing.close() }
    logger.info("Starting bucket comparison")
    logger.info("Mode: latest objects only")

    let merge = MergeJoin(source: src, destination: dst)
    var result = PairResult()
    var lastReport = Date()
    while let event = try merge.next() {
      result.objectsProcessed += 1
      if let d = ShallowCheck.evaluate(event) {
        switch d.status {
        case .onlyInSource: result.onlyInSource += 1
        case .onlyInDestination: result.onlyInDestination += 1
        case .different: result.different += 1
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
    try report.close()
    result.sourceObjects = srcListing.listedCount
    result.destinationObjects = dstListing.listedCount
    return result
  }

  static func seconds(_ t: TimeInterval) -> String { String(format: "%.2f", t) }
}
