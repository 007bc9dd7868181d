import ArgumentParser
import BucketDelta
import Foundation
import Logging
import S3

/// The root command: `compare` (the default, with the replaced tool's flags), `run`, `validate`.
public struct BucketDeltaCommand: ParsableCommand {
  public static let version = "0.2.0"

  public static let configuration = CommandConfiguration(
    commandName: "bucket-delta",
    abstract: "Prove that two S3-compatible buckets hold the same objects.",
    discussion: """
      Without a subcommand, compares one bucket pair given by flags (see `bucket-delta compare --help`). \
      `run MANIFEST` compares the pairs of a YAML manifest; `validate MANIFEST` checks one. \
      Exit status: 0 identical, 1 differences found, 2 error or incomplete run.
      """,
    version: version,
    subcommands: [
      CompareCommand.self, RunCommand.self, ValidateCommand.self, PlanCommand.self, MergeCommand.self,
      WorkerCommand.self,
    ],
    defaultSubcommand: CompareCommand.self)

  public init() {}

  /// The logger of a run: the replaced tool's line format on stderr, at `level`.
  static func logger(_ level: Logger.Level) -> Logger {
    Logger(label: "bucket-delta") { _ in BucketDeltaLogHandler(level: level) }
  }
}

/// `bucket-delta [compare]` with the single-pair flags of the tool we replace.
public struct CompareCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "compare",
    abstract: "Compare one bucket pair given by flags (those of the tool bucket-delta replaces).",
    discussion: """
      Lists both buckets with ListObjectsV2, merge-joins the listings in key order (UTF-8 bytes) and \
      reports objects only in the source, only in the destination, and objects whose ETag or size \
      differs; with --shallow_check false also user metadata, tags, content headers and Object Lock. \
      Exit status: 0 identical, 1 differences found, 2 error or incomplete run.
      Credentials, first found: --*_access_key/--*_secret_key (visible to other users: avoid), \
      --*_profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), then the \
      AWS_PROFILE (else default) profile of AWS_SHARED_CREDENTIALS_FILE (else ~/.aws/credentials).
      """,
    version: BucketDeltaCommand.version)

  // MARK: Source
  @Option(name: .customLong("source_bucket_name"), help: "Name of the source bucket.")
  var sourceBucket: String?
  @Option(name: .customLong("source_endpoint_url"), help: "S3 endpoint URL for the source (http:// or https://).")
  var sourceEndpoint: String?
  @Option(name: .customLong("source_access_key"), help: "Access key for the source (default: $AWS_ACCESS_KEY_ID).")
  var sourceAccessKey: String?
  @Option(name: .customLong("source_secret_key"), help: "Secret key for the source (default: $AWS_SECRET_ACCESS_KEY).")
  var sourceSecretKey: String?
  @Option(
    name: .customLong("source_profile"),
    help:
      "Profile of the shared credentials file for the source (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials).")
  var sourceProfile: String?
  @Option(name: .customLong("source_region"), help: "Signing region of the source endpoint.")
  var sourceRegion: String = "us-east-1"
  @Option(
    name: .customLong("source_prefix"), help: "Compare only source keys under this prefix (removed before comparing).")
  var sourcePrefix: String = ""

  // MARK: Destination
  @Option(name: .customLong("destination_bucket_name"), help: "Name of the destination bucket.")
  var destinationBucket: String?
  @Option(name: .customLong("destination_endpoint_url"), help: "S3 endpoint URL for the destination.")
  var destinationEndpoint: String?
  @Option(
    name: .customLong("destination_access_key"), help: "Access key for the destination (default: $AWS_ACCESS_KEY_ID).")
  var destinationAccessKey: String?
  @Option(
    name: .customLong("destination_secret_key"),
    help: "Secret key for the destination (default: $AWS_SECRET_ACCESS_KEY).")
  var destinationSecretKey: String?
  @Option(name: .customLong("destination_profile"), help: "Profile of the shared credentials file for the destination.")
  var destinationProfile: String?
  @Option(name: .customLong("destination_region"), help: "Signing region of the destination endpoint.")
  var destinationRegion: String = "us-east-1"
  @Option(
    name: .customLong("destination_prefix"),
    help: "Compare only destination keys under this prefix (removed before comparing).")
  var destinationPrefix: String = ""

  // MARK: Output
  @Option(
    name: .customLong("output_file"),
    help: "Path of the differences report; - writes it to standard output (logs stay on standard error).")
  var outputFile: String?
  @Option(name: .customLong("output_format"), help: "Report format: text (the replaced tool's lines) or jsonl.")
  var outputFormat: ReportFormat = .text
  @Option(name: .customLong("summary"), help: "Also write a JSON summary (schemas/summary.schema.json) to this file.")
  var summary: String?

  // MARK: Check
  @Option(
    name: .customLong("shallow_check"),
    help:
      "true: compare ETag and size from the listings. false: deep check (HeadObject and GetObjectTagging on both sides: metadata, tags, content headers, Object Lock)."
  )
  var shallowCheck: BoolArgument = BoolArgument(true)
  @Option(name: .customLong("compare_object_tags"), help: "Compare object tags in deep checks.")
  var compareObjectTags: BoolArgument = BoolArgument(true)
  @Flag(
    name: .customLong("resume"),
    help: "Continue from the pair's checkpoint (in $BUCKET_DELTA_STATE_DIR, else ~/.local/state/bucket-delta).")
  var resume = false

  // MARK: Tuning
  @OptionGroup var tuning: TuningFlags
  @Option(
    name: .customLong("addressing_style"),
    help: "Bucket addressing of both sides: path or virtual (virtual needs a DNS name).")
  var addressingStyle: AddressingStyle = .path
  @Option(
    name: .customLong("source_addressing_style"),
    help: "Bucket addressing of the source (overrides --addressing_style).")
  var sourceAddressingStyle: AddressingStyle?
  @Option(
    name: .customLong("destination_addressing_style"),
    help: "Bucket addressing of the destination (overrides --addressing_style).")
  var destinationAddressingStyle: AddressingStyle?
  @Option(
    name: .customLong("source_tagging_count_header"),
    help:
      "auto, trust or ignore: whether the source's x-amz-tagging-count on HEAD may stand in for GetObjectTagging (auto: on Amazon S3, or once the endpoint has sent it)."
  )
  var sourceTaggingCountHeader: TaggingCountMode = .auto
  @Option(
    name: .customLong("destination_tagging_count_header"),
    help: "The same for the destination.")
  var destinationTaggingCountHeader: TaggingCountMode = .auto
  @Option(name: .customLong("log_level"), help: "Log verbosity: DEBUG, INFO, WARN or ERROR.")
  var logLevel: LogLevel = .INFO
  @OptionGroup var options: RunOptions

  public init() {}

  public func run() throws {
    let status = execute()
    if status != 0 { throw ExitCode(status) }
  }

  /// Runs the comparison and returns the exit status; every failure is logged, never thrown.
  func execute() -> Int32 {
    let startTime = Date()
    // Every line respects --log_level, the validation lines too (it is parsed before any of them).
    let logger = Logger(label: "bucket-delta") { [level = logLevel.level] _ in BucketDeltaLogHandler(level: level) }
    logger.info("Validating input arguments")
    let config: SinglePairConfig
    do {
      config = try validated()
    } catch let e as ValidationProblems {
      for p in e.problems { logger.error("Invalid argument: \(p)") }
      return ExitStatus.error.rawValue
    } catch {
      logger.error("Invalid argument: \(error)")
      return ExitStatus.error.rawValue
    }
    logger.info("Input arguments validated successfully")
    logger.info("Log level set to \(logLevel.rawValue)")
    if config.secretsOnCommandLine {
      logger.warning(
        "A secret key was given on the command line, where other users of this machine can read it (ps, /proc). Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment or use --source_profile/--destination_profile instead"
      )
    }
    var manifest = SinglePairRun(config: config, logger: logger, startTime: startTime).manifest()
    let problems = options.apply(to: &manifest)
    guard problems.isEmpty else {
      for p in problems { logger.error("Invalid argument: \(p)") }
      return ExitStatus.error.rawValue
    }
    var runner = ManifestRunner(
      manifest: manifest, logger: logger, startTime: startTime, toolVersion: BucketDeltaCommand.version,
      resume: config.resume, exitStatus: ExitStatus.code(for:))
    runner.singlePair = true
    runner.progress = ProgressDisplay.choose(explicit: options.progress)
    return runner.run().exit_code
  }
}

// The library's enums are the flags' values: CaseIterable gives the help text its values, and a new
// case needs no mirror enum here.
extension ReportFormat: ExpressibleByArgument {}
extension AddressingStyle: ExpressibleByArgument {}
extension VerifyLevel: ExpressibleByArgument {}
extension ContentScope: ExpressibleByArgument {}
extension TaggingCountMode: ExpressibleByArgument {}
extension ExtraVersions: ExpressibleByArgument {}

extension LogLevel: ExpressibleByArgument {
  public init?(argument: String) {
    self.init(rawValue: argument.uppercased())
  }
}
