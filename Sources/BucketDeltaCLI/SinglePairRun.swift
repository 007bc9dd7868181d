import BucketDelta
import Foundation
import Logging
import S3

/// Runs one pair from validated flags, logs the final report block, and maps the outcome to an
/// exit status.
struct SinglePairRun {
  var config: SinglePairConfig
  var logger: Logger
  var startTime: Date

  func run() -> ExitStatus {
    let transport = CurlTransport(maxConnectionsPerHost: config.numConnections)
    defer { transport.shutdown() }
    func client(_ side: SideConfig) -> S3Client {
      S3Client(
        endpoint: side.endpoint, credentials: side.credentials, transport: transport,
        retry: RetryPolicy(maxAttempts: config.maxAttempts), logger: logger)
    }
    let src = config.source
    let dst = config.destination
    var options = PairOptions()
    options.reportFormat = config.format
    options.numObjectsReport = config.numObjectsReport
    if config.deep {
      options.deep = DeepOptions(
        worker: WorkerConfig(
          source: src.workerSide, destination: dst.workerSide, compareTags: config.compareTags,
          numConnections: config.numConnections, maxAttempts: config.maxAttempts, logLevel: config.logLevel),
        processes: config.numProcesses, maxQueueSize: config.maxQueueSize)
    }
    let comparison = PairComparison(
      source: ListingTarget(client: client(src), bucket: src.bucket, prefix: src.prefix, pageSize: config.pageSize),
      destination: ListingTarget(
        client: client(dst), bucket: dst.bucket, prefix: dst.prefix, pageSize: config.pageSize),
      reportPath: config.outputFile, options: options, logger: logger, startTime: startTime)
    logger.debug(
      "Check type: \(config.deep ? "deep" : "shallow"), compare_object_tags=\(config.compareTags), num_processes=\(config.numProcesses), num_connections=\(config.numConnections), max_queue_size=\(config.maxQueueSize), source=\(src.endpoint) destination=\(dst.endpoint)")

    let status: ExitStatus
    var result = PairResult()
    var failure: Error?
    do {
      result = try comparison.run()
      status = result.errors > 0 ? .error : result.objectsWithDifferences > 0 ? .differences : .identical
    } catch {
      failure = error
      status = .error
    }
    let elapsed = Date().timeIntervalSince(startTime)
    logger.info("------Final report------")
    logger.info("Total objects processed: \(result.objectsProcessed)")
    logger.info("Total objects with differences: \(result.objectsWithDifferences)")
    logger.info("Total execution time: \(String(format: "%.2f", elapsed)) seconds")
    logger.info(
      "Throughput: \(String(format: "%.2f", elapsed > 0 ? Double(result.objectsProcessed) / elapsed : 0)) objects/second")
    logger.info("------End of report------")
    if let failure {
      logger.error("Comparison did not complete: \(failure)")
    } else if result.errors > 0 {
      logger.error(
        "\(result.errors) keys could not be checked (see the report); the comparison is incomplete")
    } else {
      logger.info(
        "Only in source: \(result.onlyInSource), only in destination: \(result.onlyInDestination), different: \(result.different); report: \(config.outputFile)")
    }
    return status
  }
}
