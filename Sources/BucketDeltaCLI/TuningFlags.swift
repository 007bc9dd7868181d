import ArgumentParser
import BucketDelta

/// The tuning flags of `compare` and `run` (where they override the manifest). Names, bounds and
/// help come from `TuningSetting.all`, and values are checked by it, so the flags, the manifest and
/// the help cannot disagree; a flag not given leaves the manifest's value (or the default).
struct TuningFlags: ParsableArguments {
  private static func name(_ key: String) -> NameSpecification { .customLong(TuningSetting.named(key).flag) }
  private static func help(_ key: String) -> ArgumentHelp { ArgumentHelp(TuningSetting.named(key).helpWithDefault) }

  @Option(name: name("num_processes"), help: help("num_processes")) var numProcesses: Int?
  @Option(name: name("num_connections"), help: help("num_connections")) var numConnections: Int?
  @Option(name: name("max_queue_size"), help: help("max_queue_size")) var maxQueueSize: Int?
  @Option(name: name("num_objects_report"), help: help("num_objects_report")) var numObjectsReport: Int?
  @Option(name: name("list_page_size"), help: help("list_page_size")) var listPageSize: Int?
  @Option(name: name("range_listers"), help: help("range_listers")) var rangeListers: String?
  @Option(name: name("max_attempts"), help: help("max_attempts")) var maxAttempts: Int?
  @Option(name: name("parallel_pairs"), help: help("parallel_pairs")) var parallelPairs: Int?
  @Option(name: name("request_timeout_seconds"), help: help("request_timeout_seconds")) var requestTimeout: Double?
  @Option(name: name("max_content_bytes"), help: help("max_content_bytes")) var maxContentBytes: Int?
  @Option(name: name("tagging_count_sample"), help: help("tagging_count_sample")) var taggingCountSample: Int?

  /// The values given, by manifest key.
  private var given: [(String, Double?)] {
    [
      ("num_processes", numProcesses.map(Double.init)), ("num_connections", numConnections.map(Double.init)),
      ("max_queue_size", maxQueueSize.map(Double.init)), ("num_objects_report", numObjectsReport.map(Double.init)),
      ("list_page_size", listPageSize.map(Double.init)), ("range_listers", nil),
      ("max_attempts", maxAttempts.map(Double.init)), ("parallel_pairs", parallelPairs.map(Double.init)),
      ("request_timeout_seconds", requestTimeout), ("max_content_bytes", maxContentBytes.map(Double.init)),
      ("tagging_count_sample", taggingCountSample.map(Double.init)),
    ]
  }

  /// Sets the flags given on `tuning`; returns the problems (`--FLAG must be ...`).
  func apply(to tuning: inout Tuning) -> [String] {
    var problems: [String] = []
    // A setting that also takes words (`--range_listers auto`) is given as text.
    for (key, text) in [("range_listers", rangeListers)] {
      guard let text else { continue }
      let setting = TuningSetting.named(key)
      let problem = Double(text).map { setting.set($0, in: &tuning) } ?? setting.set(word: text, in: &tuning)
      if let problem { problems.append("--\(setting.flag) \(problem)") }
    }
    for (key, value) in given {
      guard let value else { continue }
      let setting = TuningSetting.named(key)
      if let problem = setting.set(value, in: &tuning) { problems.append("--\(setting.flag) \(problem)") }
    }
    return problems
  }
}
