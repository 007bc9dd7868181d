import ArgumentParser
import BucketDelta
import Foundation
import Logging

/// Flags that override a manifest's values (the single-pair flag names).
struct ManifestOverrides: ParsableArguments {
  @Option(name: .customLong("shallow_check"), help: "Override every pair's check: true (shallow) or false (deep).")
  var shallowCheck: BoolArgument?
  @Option(name: .customLong("compare_object_tags"), help: "Override compare_object_tags for every pair.")
  var compareObjectTags: BoolArgument?
  @OptionGroup var tuning: TuningFlags
  @Option(name: .customLong("output_format"), help: "Override output.format: text or jsonl.")
  var outputFormat: ReportFormat?
  @Option(name: .customLong("log_level"), help: "Log verbosity: DEBUG, INFO, WARN or ERROR.")
  var logLevel: LogLevel = .INFO

  /// Applies the overrides; returns the problems with their values.
  func apply(to m: inout Manifest, pairs selected: [String]) -> [String] {
    var problems: [String] = []
    problems += tuning.apply(to: &m.tuning)
    if let f = outputFormat { m.output.format = f }
    for i in m.pairs.indices {
      if let s = shallowCheck { m.pairs[i].check = s.value ? .shallow : .deep }
      if let t = compareObjectTags { m.pairs[i].compareObjectTags = t.value }
    }
    if !selected.isEmpty {
      let known = Set(m.pairs.map(\.name))
      for name in selected where !known.contains(name) {
        problems.append(
          "--pair \(name): no such pair in the manifest (pairs: \(m.pairs.map(\.name).joined(separator: ", ")))")
      }
      m.pairs = m.pairs.filter { selected.contains($0.name) }
    }
    m.logLevel = logLevel
    return problems
  }
}

/// `bucket-delta run MANIFEST`: every pair of a manifest, one shared worker pool, a report per pair,
/// a JSON summary, and one exit status.
struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Compare the bucket pairs of a YAML manifest.",
    discussion:
      "Exit status: 0 every pair identical, 1 some pair differs and none failed, 2 a pair failed or did not complete.")

  @Argument(help: "The manifest (YAML; see schemas/manifest.schema.json).")
  var manifest: String
  @Option(name: .customLong("pair"), help: "Run only this pair (repeatable).")
  var pairs: [String] = []
  @Flag(
    name: .customLong("resume"),
    help: "Continue unfinished pairs from their checkpoints; finished pairs are not redone.")
  var resume = false
  @Option(
    name: .customLong("plan"),
    help: "Run one shard of this plan (bucket-delta plan); outputs go under OUTPUT_DIR/shards/I/.")
  var plan: String?
  @Option(
    name: .customLong("shard"),
    help:
      "The shard to run (0 to N-1); defaults to JOB_COMPLETION_INDEX (Kubernetes Indexed Job), else AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job)."
  )
  var shard: Int?
  @OptionGroup var overrides: ManifestOverrides
  @OptionGroup var options: RunOptions

  func run() throws {
    let start = Date()
    let logger = BucketDeltaCommand.logger(overrides.logLevel.level)
    var m: Manifest
    do {
      m = try ManifestDecoder.load(file: manifest)
    } catch {
      writeStandardError(error.description + "\n")
      throw ExitCode(ExitStatus.error.rawValue)
    }
    let problems = overrides.apply(to: &m, pairs: pairs) + options.apply(to: &m)
    guard problems.isEmpty else {
      for p in problems { writeStandardError("bucket-delta: error: \(p)\n") }
      throw ExitCode(ExitStatus.error.rawValue)
    }
    logger.info("Manifest \(manifest): \(m.pairs.count) pairs")
    if shard != nil && plan == nil {
      writeStandardError("bucket-delta: error: --shard needs --plan PLAN (make one with `bucket-delta plan`)\n")
      throw ExitCode(ExitStatus.error.rawValue)
    }
    var sharded: (plan: ShardPlan, index: Int)?
    var stateDirectory = CheckpointStore.stateDirectory()
    if let planPath = plan {
      do {
        let p = try ShardPlan.load(planPath)
        let index = try ShardPlan.shardIndex(
          explicit: shard, environment: ProcessInfo.processInfo.environment, shards: p.shards)
        try ManifestRunner(
          manifest: m, logger: logger, toolVersion: BucketDeltaCommand.version, exitStatus: ExitStatus.code(for:)
        ).check(plan: p, path: planPath)
        (m, stateDirectory) = ShardLayout.shardManifest(m, index: index)
        try FileManager.default.createDirectory(
          atPath: m.output.dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // A summary left by an earlier attempt would let `merge` take a killed attempt for a finished one.
        if let s = m.output.summary { try? FileManager.default.removeItem(atPath: s) }
        sharded = (p, index)
        logger.info("Shard \(index) of \(p.shards) (plan \(planPath)); outputs under \(m.output.dir)")
      } catch {
        writeStandardError("bucket-delta: error: \(error)\n")
        throw ExitCode(ExitStatus.error.rawValue)
      }
    }
    var runner = ManifestRunner(
      manifest: m, logger: logger, startTime: start, toolVersion: BucketDeltaCommand.version, resume: resume,
      stateDirectory: stateDirectory, exitStatus: ExitStatus.code(for:))
    runner.shard = sharded
    runner.progress = ProgressDisplay.choose(explicit: options.progress)
    let summary = runner.run()
    // A shard that finished exits 0 whatever it found: Kubernetes and AWS Batch retry a non-zero exit, and
    // the verdict is the merge's (the shard's summary keeps its own exit_code).
    if sharded != nil, [ExitStatus.differences, .unverified].map(\.rawValue).contains(summary.exit_code) {
      logger.info("Shard finished (its verdict, exit \(summary.exit_code), is in its summary; `merge` gives the run's)")
      return
    }
    if summary.exit_code != 0 { throw ExitCode(summary.exit_code) }
  }
}

/// `bucket-delta validate MANIFEST`: checks the manifest and its environment variables, contacts nothing.
struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate", abstract: "Check a manifest and its environment variables without contacting any server.")

  @Argument(help: "The manifest (YAML).")
  var manifest: String

  func run() throws {
    do {
      let m = try ManifestDecoder.load(file: manifest)
      print(
        "\(manifest): OK: \(m.endpoints.count) endpoints, \(m.pairs.count) pairs (\(m.pairs.map(\.name).joined(separator: ", ")))"
      )
    } catch {
      writeStandardError(error.description + "\n")
      throw ExitCode(ExitStatus.error.rawValue)
    }
  }
}

/// `bucket-delta plan MANIFEST --shards N --output plan.json`: boundaries that split every pair into N
/// key ranges of about equal object counts, from sampled listings.
struct PlanCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Split every pair of a manifest into N key ranges for sharded runs (run --plan --shard, merge).")

  @Argument(help: "The manifest (YAML).")
  var manifest: String
  @Option(name: .customLong("shards"), help: "How many shards (1 to 10000).")
  var shards: Int
  @Option(name: .customLong("output"), help: "Where to write the plan (JSON).")
  var output: String
  @Option(name: .customLong("pair"), help: "Plan only this pair (repeatable).")
  var pairs: [String] = []
  @OptionGroup var overrides: ManifestOverrides
  @OptionGroup var options: RunOptions

  func run() throws {
    let logger = BucketDeltaCommand.logger(overrides.logLevel.level)
    do {
      guard (1...10_000).contains(shards) else {
        throw ShardError("--shards \(shards): use 1 to 10000 (an AWS Batch array job has at most 10,000 children)")
      }
      var m = try ManifestDecoder.load(file: manifest)
      let problems = overrides.apply(to: &m, pairs: pairs) + options.apply(to: &m)
      guard problems.isEmpty else { throw ShardError(problems.joined(separator: "\n")) }
      let runner = ManifestRunner(
        manifest: m, logger: logger, toolVersion: BucketDeltaCommand.version, exitStatus: ExitStatus.code(for:))
      let plan = try runner.plan(shards: shards, manifestPath: manifest)
      try plan.write(to: output)
      logger.info("Plan \(output): \(shards) shards of \(plan.pairs.count) pairs (id \(plan.id.prefix(12)))")
    } catch let e as ManifestError {
      writeStandardError(e.description + "\n")
      throw ExitCode(ExitStatus.error.rawValue)
    } catch {
      writeStandardError("bucket-delta: error: \(error)\n")
      throw ExitCode(ExitStatus.error.rawValue)
    }
  }
}

/// `bucket-delta merge PLAN OUTPUT_DIR`: joins the shards' outputs into what an unsharded run writes.
struct MergeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "merge",
    abstract: "Join the outputs of every shard of a plan into one run's reports, summary, JUnit and metrics.",
    discussion:
      "Exit status: that of the unsharded run; 2 when a shard is missing, unfinished, failed or from another plan.")

  @Argument(help: "The plan the shards ran.")
  var plan: String
  @Argument(help: "The manifest's output directory (holding shards/0, shards/1, ...).")
  var outputDir: String
  @Option(name: .customLong("log_level"), help: "Log verbosity: DEBUG, INFO, WARN or ERROR.")
  var logLevel: LogLevel = .INFO

  func run() throws {
    let logger = BucketDeltaCommand.logger(logLevel.level)
    let summary: RunSummary
    do {
      let p = try ShardPlan.load(plan)
      summary = try ShardMerge.run(
        plan: p, outputDir: outputDir, toolVersion: BucketDeltaCommand.version, logger: logger,
        exitStatus: ExitStatus.code(for:))
    } catch {
      writeStandardError("bucket-delta: error: \(error)\n")
      throw ExitCode(ExitStatus.error.rawValue)
    }
    if summary.exit_code != 0 { throw ExitCode(summary.exit_code) }
  }
}
