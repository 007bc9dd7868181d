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
  @Option(name: .customLong("num_processes"), help: "Override tuning.num_processes.")
  var numProcesses: Int?
  @Option(name: .customLong("num_connections"), help: "Override tuning.num_connections.")
  var numConnections: Int?
  @Option(name: .customLong("max_queue_size"), help: "Override tuning.max_queue_size.")
  var maxQueueSize: Int?
  @Option(name: .customLong("num_objects_report"), help: "Override tuning.num_objects_report.")
  var numObjectsReport: Int?
  @Option(name: .customLong("list_page_size"), help: "Override tuning.list_page_size.")
  var listPageSize: Int?
  @Option(name: .customLong("range_listers"), help: "Override tuning.range_listers.")
  var rangeListers: Int?
  @Option(name: .customLong("max_attempts"), help: "Override tuning.max_attempts.")
  var maxAttempts: Int?
  @Option(name: .customLong("parallel_pairs"), help: "Override tuning.parallel_pairs.")
  var parallelPairs: Int?
  @Option(name: .customLong("output_format"), help: "Override output.format: text or jsonl.")
  var outputFormat: ReportFormatOption?
  @Option(name: .customLong("log_level"), help: "Log verbosity: DEBUG, INFO, WARN or ERROR.")
  var logLevel: LogLevelOption = .INFO

  /// Applies the overrides; returns the problems with their values.
  func apply(to m: inout Manifest, pairs selected: [String]) -> [String] {
    var problems: [String] = []
    func positive(_ v: Int?, _ name: String, _ max: Int = Int.max) -> Int? {
      guard let v else { return nil }
      guard v >= 1, v <= max else {
        problems.append("--\(name) must be between 1 and \(max == Int.max ? "any" : String(max)), got \(v)")
        return nil
      }
      return v
    }
    if let v = positive(numProcesses, "num_processes", 512) { m.tuning.numProcesses = v }
    if let v = positive(numConnections, "num_connections", 1024) { m.tuning.numConnections = v }
    if let v = positive(maxQueueSize, "max_queue_size") { m.tuning.maxQueueSize = v }
    if let v = positive(numObjectsReport, "num_objects_report") { m.tuning.numObjectsReport = v }
    if let v = positive(listPageSize, "list_page_size", 1000) { m.tuning.listPageSize = v }
    if let v = positive(maxAttempts, "max_attempts", 100) { m.tuning.maxAttempts = v }
    if let v = positive(rangeListers, "range_listers", Tuning.rangeListersMax) { m.tuning.rangeListers = v }
    if let v = positive(parallelPairs, "parallel_pairs", 64) { m.tuning.parallelPairs = v }
    if let f = outputFormat { m.output.format = f.format }
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
    m.logLevel = logLevel.rawValue
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
