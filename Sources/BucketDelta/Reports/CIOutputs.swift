import Foundation

/// JUnit XML for CI systems (GitHub Actions test reporters, GitLab, Jenkins): one `testsuite`, one
/// `testcase` per pair; a differing pair is a `failure` whose text holds the first lines of its
/// report (so is an unverified one, of type `unverified`: the run exits 3), a pair that could not be
/// completed is an `error`.
public enum JUnitReport {
  /// How many report lines go into a failure.
  public static let firstLines = 20

  public static func xml(
    _ summary: RunSummary, readReport: (String) -> [String] = { firstLinesOf($0, JUnitReport.firstLines) }
  ) -> String {
    let failures = summary.pairs.filter { $0.status == .different || $0.status == .unverified }.count
    let errors = summary.pairs.filter(\.failed).count
    let time = summary.pairs.reduce(0) { $0 + $1.duration_seconds }
    var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    let counts = "tests=\"\(summary.pairs.count)\" failures=\"\(failures)\" errors=\"\(errors)\""
    out += "<testsuites name=\"bucket-delta\" \(counts) time=\"\(format(time))\">\n"
    out +=
      "  <testsuite name=\"bucket-delta\" \(counts) skipped=\"0\" time=\"\(format(time))\" timestamp=\"\(escape(summary.started_at))\">\n"
    for p in summary.pairs {
      out +=
        "    <testcase name=\"\(escape(p.name))\" classname=\"bucket-delta.\(escape(p.name))\" time=\"\(format(p.duration_seconds))\">\n"
      // Counts that are not differences, and version differences, only where the pair has them.
      let extra =
        (p.version_differences ?? [:]).sorted { $0.key < $1.key }.map { ", \($0.value) \($0.key)" }.joined()
        + (p.changed_after_cutoff > 0 ? ", \(p.changed_after_cutoff) changed after the cutoff" : "")
        + (p.excluded > 0 ? ", \(p.excluded) excluded by filters" : "")
      let counts =
        "\(p.objects_compared) objects compared: \(p.only_in_source) only in source, \(p.only_in_destination) only in destination, \(p.different) different, \(p.errors) errors\(extra)"
      switch p.status {
      case .different, .unverified:
        let lines = readReport(p.report)
        let message = p.status == .different ? counts : "\(counts), \(p.unverified) unverified (verify: \(p.verify))"
        let text =
          "\(p.source) -> \(p.destination)\n\(message)\nReport: \(p.report)\nFirst differences:\n"
          + lines.joined(separator: "\n")
        out +=
          "      <failure type=\"\(p.status.rawValue)\" message=\"\(escape(message))\">\(escape(text))</failure>\n"
      case .error,
        .empty where p.failed:
        let message = p.error ?? "the comparison did not complete"
        let lines = p.errors > 0 ? readReport(p.report) : []
        let text =
          "\(p.source) -> \(p.destination)\n\(message)\n\(counts)"
          + (lines.isEmpty ? "" : "\nFirst report lines:\n" + lines.joined(separator: "\n"))
        out += "      <error type=\"error\" message=\"\(escape(message))\">\(escape(text))</error>\n"
      default:
        out +=
          "      <system-out>\(escape("\(p.source) -> \(p.destination): \(p.status.rawValue), \(counts)"))</system-out>\n"
      }
      out += "    </testcase>\n"
    }
    out += "  </testsuite>\n</testsuites>\n"
    return out
  }

  static func format(_ t: Double) -> String { String(format: "%.3f", t) }

  /// XML-escapes text and drops the characters XML 1.0 cannot hold.
  static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for u in s.unicodeScalars {
      switch u {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      case "\t", "\n", "\r": out.unicodeScalars.append(u)
      default:
        if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF { out += "?" } else { out.unicodeScalars.append(u) }
      }
    }
    return out
  }
}

/// The first `n` lines of a file (reading at most 256 KiB), empty when it cannot be read.
public func firstLinesOf(_ path: String, _ n: Int) -> [String] {
  guard let h = FileHandle(forReadingAtPath: path) else { return [] }
  defer { try? h.close() }
  let data = (try? h.read(upToCount: 256 << 10)) ?? Data()
  return Array(
    String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).prefix(n).map(
      String.init))
}

/// A Prometheus text-format file for node_exporter's textfile collector: per-pair gauges of the
/// last run. `bucket_delta_last_success_timestamp_seconds` keeps its earlier value for a pair that
/// failed this time (read back from the previous file), so an alert can watch its age.
public enum PrometheusMetrics {
  public static func text(_ summary: RunSummary, finishedAt: Date, previous: String?) -> String {
    let oldSuccess = previous.map(lastSuccesses) ?? [:]
    var out = ""
    func gauge(_ name: String, _ help: String, _ samples: [(String, String)]) {
      out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
      for (labels, value) in samples { out += "\(name){\(labels)} \(value)\n" }
    }
    let pairs = summary.pairs
    func l(_ p: PairSummary, _ extra: String = "") -> String {
      "pair=\"\(escape(p.name))\"" + extra
    }
    gauge(
      "bucket_delta_objects_compared", "Objects compared in the last run of the pair.",
      pairs.map { (l($0), "\($0.objects_compared)") })
    var diffs: [(String, String)] = []
    for p in pairs {
      for (kind, n) in [
        ("only_in_source", p.only_in_source), ("only_in_destination", p.only_in_destination),
        ("different", p.different),
        ("error", p.errors),
      ] {
        diffs.append((l(p, ",kind=\"\(kind)\""), "\(n)"))
      }
      // A versions pair: each kind of version difference (a pair differing only there shows it here).
      for (kind, n) in (p.version_differences ?? [:]).sorted(by: { $0.key < $1.key }) {
        diffs.append((l(p, ",kind=\"\(escape(kind))\""), "\(n)"))
      }
    }
    gauge("bucket_delta_differences", "Objects with differences in the last run, by kind.", diffs)
    gauge(
      "bucket_delta_unverified",
      "Objects of equal size whose content the pair's verify level could not prove identical, in the last run.",
      pairs.map { (l($0), "\($0.unverified)") })
    gauge(
      "bucket_delta_changed_after_cutoff",
      "Objects not judged in the last run because a side changed after the as-of cutoff (not differences).",
      pairs.map { (l($0), "\($0.changed_after_cutoff)") })
    gauge(
      "bucket_delta_excluded", "Objects left out by the pair's filters in the last run.",
      pairs.map { (l($0), "\($0.excluded)") })
    gauge(
      "bucket_delta_bytes_read", "Bytes read from the buckets to compare content in the last run.",
      pairs.map { (l($0), "\($0.bytes_read)") })
    gauge(
      "bucket_delta_duration_seconds", "Duration of the pair's last run.",
      pairs.map { (l($0), "\($0.duration_seconds)") })
    gauge(
      "bucket_delta_pair_status",
      "1 for the status of the pair's last run (\(PairStatus.allCases.map(\.rawValue).joined(separator: ", "))).",
      pairs.flatMap { p in
        PairStatus.allCases.map { (l(p, ",status=\"\($0.rawValue)\""), p.status == $0 ? "1" : "0") }
      })
    gauge(
      "bucket_delta_requests", "HTTP requests of the pair's last run, retries included.",
      pairs.map { (l($0), "\($0.requests)") })
    gauge("bucket_delta_retries", "Retried requests in the pair's last run.", pairs.map { (l($0), "\($0.retries)") })
    let now = String(format: "%.3f", finishedAt.timeIntervalSince1970)
    var success: [(String, String)] = []
    for p in pairs {
      if !p.failed {
        success.append((l(p), now))
      } else if let old = oldSuccess[p.name] {
        success.append((l(p), old))
      }
    }
    gauge(
      "bucket_delta_last_success_timestamp_seconds",
      "Unix time the pair last completed (identical, different, unverified or allowed empty; not error).", success)
    out +=
      "# HELP bucket_delta_exit_code Exit status of the last run (0 identical, 1 differences, 2 error, 3 unverified).\n"
    out += "# TYPE bucket_delta_exit_code gauge\nbucket_delta_exit_code \(summary.exit_code)\n"
    return out
  }

  /// Label values: backslash, double quote and newline escaped.
  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      .replacingOccurrences(of: "\n", with: "\\n")
  }

  /// `pair -> value` of the last-success samples of an earlier file.
  static func lastSuccesses(_ text: String) -> [String: String] {
    var out: [String: String] = [:]
    let prefix = "bucket_delta_last_success_timestamp_seconds{pair=\""
    for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
      let rest = line.dropFirst(prefix.count)
      guard let end = rest.range(of: "\"} ") else { continue }
      let name = String(rest[..<end.lowerBound]).replacingOccurrences(of: "\\\"", with: "\"")
        .replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\\\", with: "\\")
      out[name] = String(rest[end.upperBound...])
    }
    return out
  }
}
