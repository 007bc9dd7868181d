import BucketDelta
import Foundation
import Logging
import S3

/// Runs one pair from validated flags: the flags become a one-pair manifest, so single-pair runs and
/// manifest runs share one code path.
struct SinglePairRun {
  var config: SinglePairConfig
  var logger: Logger
  var startTime: Date

  func manifest() -> Manifest {
    let tuning = config.tuning
    let pair = PairConfig(
      name: "\(config.source.bucket)-to-\(config.destination.bucket)",
      source: PairSide(endpoint: "source", bucket: config.source.bucket, prefix: config.source.prefix),
      destination: PairSide(
        endpoint: "destination", bucket: config.destination.bucket, prefix: config.destination.prefix),
      check: config.deep ? .deep : .shallow, compareObjectTags: config.compareTags, reportPath: config.outputFile)
    return Manifest(
      endpoints: [
        "source": config.source.endpoint, "destination": config.destination.endpoint,
      ],
      tuning: tuning,
      output: OutputConfig(
        dir: URL(fileURLWithPath: config.outputFile).deletingLastPathComponent().path, format: config.format,
        summary: config.summary),
      pairs: [pair], logLevel: config.logLevel)
  }
}
