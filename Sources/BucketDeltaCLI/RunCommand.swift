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
    var runner = ManifestRunner(
      manifest: m, logger: logger, startTime: start, toolVersion: BucketDeltaCommand.version, resume: resume,
      exitStatus: ExitStatus.code(for:))
    runner.progress = ProgressDisplay.choose(explicit: options.progress)
    let summary = runner.run()
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
