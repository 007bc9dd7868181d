import Foundation
import Logging

/// The files a run leaves for automation besides the reports: the JSON summary, JUnit XML and the
/// Prometheus textfile, each written atomically.
enum RunOutputs {
  /// Writes the outputs `output` names; an output that cannot be written is logged and `failed` is
  /// called (it makes the run fail) before the next one is written.
  static func write(
    _ summary: inout RunSummary, to output: OutputConfig, logger: Logger, failed: (inout RunSummary) -> Void
  ) {
    if let path = output.summary {
      do {
        try summary.write(to: path)
      } catch {
        logger.error("Cannot write the summary: \(error)")
        failed(&summary)
      }
    }
    if let path = output.junit {
      do {
        try writeAtomically(data: Array(JUnitReport.xml(summary).utf8), to: path)
      } catch {
        logger.error("Cannot write the JUnit file: \(error)")
        failed(&summary)
      }
    }
    if let path = output.metricsFile {
      let previous = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
      do {
        let text = PrometheusMetrics.text(summary, finishedAt: Date(), previous: previous)
        try writeAtomically(data: Array(text.utf8), to: path, mode: 0o644)
      } catch {
        logger.error("Cannot write the metrics file: \(error)")
        failed(&summary)
      }
    }
  }
}

/// The log lines that end a pair (the replaced tool's final report) and a run.
enum RunLog {
  static func finalReport(
    pair: String, result: PairResult, summary: PairSummary, seconds total: Double, reportPath: String, logger: Logger
  ) {
    logger.info("------Final report------")
    logger.info("Total objects processed: \(result.objectsProcessed)")
    logger.info("Total objects with differences: \(result.objectsWithDifferences)")
    logger.info("Total execution time: \(String(format: "%.2f", total)) seconds")
    logger.info(
      "Throughput: \(String(format: "%.2f", total > 0 ? Double(result.objectsProcessed) / total : 0)) objects/second")
    logger.info("Requests: \(summary.requests), retries: \(summary.retries), throttled: \(summary.throttled)")
    logger.info("------End of report------")
    if summary.status == .empty, let e = summary.error {
      logger.error("Pair \(pair) failed: \(e)")
    } else if let e = summary.error {
      logger.error("Comparison of \(pair) did not complete: \(e)")
    } else {
      logger.info(
        "Only in source: \(result.onlyInSource), only in destination: \(result.onlyInDestination), different: \(result.different); report: \(reportPath)"
      )
      if result.unverified > 0 {
        logger.warning(
          "Unverified: \(result.unverified) objects of equal size could not be proven identical at verify: \(summary.verify) (see the report for why; a higher verify level may decide them)"
        )
      }
    }
  }

  static func runSummary(_ summary: RunSummary, summaryPath: String?, logger: Logger) {
    logger.info("------Summary------")
    for p in summary.pairs {
      logger.info(
        "\(p.name): \(p.status), \(p.objects_compared) objects, \(p.only_in_source) only in source, \(p.only_in_destination) only in destination, \(p.different) different, \(p.unverified > 0 ? "\(p.unverified) unverified, " : "")\(p.errors) errors\(p.error.map { ": \($0)" } ?? "")"
      )
    }
    logger.info("Overall: \(summary.status) (exit \(summary.exit_code))\(summaryPath.map { "; summary: \($0)" } ?? "")")
  }
}
