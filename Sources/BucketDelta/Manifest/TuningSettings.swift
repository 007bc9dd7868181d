/// The tuning knobs: one row each, from which the manifest decoder (`defaults.tuning.KEY`), the flags
/// of `compare` and `run` (`--FLAG`, which override the manifest) and their help read the name, the
/// bounds and the help; the default is the `Tuning` property's. Before this table the bounds were
/// written twice and the flags checked fewer of them (`--num_processes 100000` was accepted by
/// `compare` and refused by `run`).
public struct TuningSetting: Sendable {
  public enum Value: Sendable {
    case integer(WritableKeyPath<Tuning, Int> & Sendable, ClosedRange<Int>)
    case seconds(WritableKeyPath<Tuning, Double> & Sendable, ClosedRange<Double>)
  }

  /// The key under `defaults.tuning` in a manifest.
  public let key: String
  /// The long flag (`--FLAG`), the replaced tool's name where it had one.
  public let flag: String
  public let value: Value
  public let help: String
  /// Words accepted instead of a number, with the value each stands for (`range_listers: auto`).
  public let words: [String: Int]

  init(key: String, flag: String, value: Value, help: String, words: [String: Int] = [:]) {
    self.key = key
    self.flag = flag
    self.value = value
    self.help = help
    self.words = words
  }

  public static let all: [TuningSetting] = [
    .init(
      key: "num_processes", flag: "num_processes", value: .integer(\.numProcesses, 1...512),
      help: "Worker processes for deep checks, shared by all pairs."),
    .init(
      key: "num_connections", flag: "num_connections", value: .integer(\.numConnections, 1...1024),
      help: "HTTP connections per endpoint and process."),
    .init(
      key: "max_queue_size", flag: "max_queue_size", value: .integer(\.maxQueueSize, 1...Int.max),
      help: "Keys in flight to the deep-check workers."),
    .init(
      key: "num_objects_report", flag: "num_objects_report", value: .integer(\.numObjectsReport, 1...Int.max),
      help: "Log progress (and save the checkpoint) every N objects."),
    .init(
      key: "list_page_size", flag: "list_page_size", value: .integer(\.listPageSize, 1...1000),
      help: "Keys per ListObjectsV2 page."),
    .init(
      key: "range_listers", flag: "range_listers", value: .integer(\.rangeListers, 1...64),
      help:
        "Key ranges of each bucket listed at once (1 lists each bucket as one stream; auto: one stream, widened to \(Tuning.adaptiveMaxListers) ranges when the first pages wait on the network).",
      words: ["auto": Tuning.adaptiveRangeListers]),
    .init(
      key: "max_attempts", flag: "max_attempts", value: .integer(\.maxAttempts, 1...100),
      help: "Attempts per request before giving up (retries with backoff on 5xx, 429, SlowDown, resets)."),
    .init(
      key: "parallel_pairs", flag: "parallel_pairs", value: .integer(\.parallelPairs, 1...64),
      help: "Pairs compared at the same time."),
    .init(
      key: "request_timeout_seconds", flag: "request_timeout", value: .seconds(\.requestTimeout, 1...3600),
      help: "Seconds before one HTTP request is abandoned and retried."),
    .init(
      key: "max_content_bytes", flag: "max_content_bytes", value: .integer(\.maxContentBytes, 0...Int.max),
      help:
        "Bytes a run may read to compare content (verify: content), shared out between the worker processes; keys past it stay unverified; 0 for no cap."
    ),
    .init(
      key: "tagging_count_sample", flag: "tagging_count_sample", value: .integer(\.taggingCountSample, 1...Int.max),
      help:
        "While x-amz-tagging-count is trusted, fetch the tags of every Nth object anyway and check the header against them."
    ),
  ]

  /// The setting whose manifest key is `key`.
  public static func named(_ key: String) -> TuningSetting {
    guard let s = all.first(where: { $0.key == key }) else { preconditionFailure("no tuning setting \(key)") }
    return s
  }

  /// The help line with the bounds and the default.
  public var helpWithDefault: String {
    let d = Tuning()
    switch value {
    case .integer(let path, let range):
      let bounds =
        (range.upperBound == Int.max ? "at least \(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)")
        + words.keys.sorted().map { " or \($0)" }.joined()
      let value = d[keyPath: path]
      return "\(help) (\(bounds); default \(words.first { $0.value == value }?.key ?? String(value)))"
    case .seconds(let path, let range):
      return "\(help) (\(Int(range.lowerBound))-\(Int(range.upperBound)); default \(Int(d[keyPath: path])))"
    }
  }

  /// Sets a setting from one of its `words`; returns what is wrong otherwise.
  public func set(word: String, in tuning: inout Tuning) -> String? {
    guard let v = words[word], case .integer(let path, _) = value else {
      return
        "must be \(isInteger ? "an integer" : "a number")\(words.keys.sorted().map { " or \($0)" }.joined()), got '\(word)'"
    }
    tuning[keyPath: path] = v
    return nil
  }

  /// Sets an integer setting after checking its bounds; returns what is wrong otherwise ("must be ...").
  public func set(_ v: Int, in tuning: inout Tuning) -> String? {
    switch value {
    case .integer(let path, let range):
      guard range.contains(v) else {
        return range.upperBound == Int.max
          ? "must be a positive integer, got \(v)"
          : "must be between \(range.lowerBound) and \(range.upperBound), got \(v)"
      }
      tuning[keyPath: path] = v
      return nil
    case .seconds:
      return set(Double(v), in: &tuning)
    }
  }

  /// Sets a number setting after checking its bounds; returns what is wrong otherwise.
  public func set(_ v: Double, in tuning: inout Tuning) -> String? {
    switch value {
    case .integer:
      guard let i = Int(exactly: v) else { return "must be an integer, got \(v)" }
      return set(i, in: &tuning)
    case .seconds(let path, let range):
      guard range.contains(v) else {
        return "must be between \(Int(range.lowerBound)) and \(Int(range.upperBound)), got \(v)"
      }
      tuning[keyPath: path] = v
      return nil
    }
  }

  /// Whether the manifest value must be an integer.
  public var isInteger: Bool {
    if case .integer = value { return true }
    return false
  }
}
