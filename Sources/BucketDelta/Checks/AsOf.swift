import Foundation
import S3

/// The as-of cutoff of a pair (`as_of`): objects changed after it on either side are not judged.
/// A nightly check of a live bucket judges the data as it was when the backup started; what the
/// writers did since is reported as `changed_after_cutoff`, never as a difference.
public enum AsOf: Sendable, Equatable, CustomStringConvertible {
  /// An RFC 3339 instant (epoch seconds).
  case instant(Int64)
  /// A duration before the run's start (seconds).
  case beforeRunStart(Int64)
  /// The run's start.
  case runStart

  /// `2026-12-01T01:00:00Z`, `15m`, `2h`, `1d`, `90s`, `4h30m` or `run_start`; nil otherwise.
  public static func parse(_ text: String) -> AsOf? {
    if text == "run_start" { return .runStart }
    // Durations as Go and Kubernetes write them: 90s, 15m, 2h, 1d, 4h30m.
    if !text.isEmpty, text.range(of: "^([0-9]{1,9}[dhms])+$", options: .regularExpression) != nil {
      var total: Int64 = 0
      var n: Int64 = 0
      for c in text {
        if let d = c.wholeNumberValue {
          n = n * 10 + Int64(d)
        } else {
          total += n * ["d": 86400, "h": 3600, "m": 60, "s": 1][c]!
          n = 0
        }
      }
      return .beforeRunStart(total)
    }
    // RFC 3339 needs a zone: a bare local time would be read against an unknown clock.
    let zoned =
      text.hasSuffix("Z") || text.hasSuffix("z")
      || text.range(of: "[+-][0-9]{2}:[0-9]{2}$", options: .regularExpression) != nil
    if zoned, let (seconds, _) = parseInstant(text) { return .instant(seconds) }
    return nil
  }

  public static let expected =
    "an RFC 3339 instant with a zone (2026-12-01T01:00:00Z), a duration before the run's start (90s, 15m, 2h, 1d, 4h30m) or run_start"

  /// The cutoff in epoch seconds for a run that started at `runStart`.
  public func cutoff(runStart: Date) -> Int64 {
    switch self {
    case .instant(let s): return s
    case .beforeRunStart(let d): return Int64(runStart.timeIntervalSince1970.rounded(.down)) - d
    case .runStart: return Int64(runStart.timeIntervalSince1970.rounded(.down))
    }
  }

  public var description: String {
    switch self {
    case .instant(let s): return Cutoff(epochSeconds: s).text
    case .beforeRunStart(let d): return "\(d)s before the run's start"
    case .runStart: return "run_start"
    }
  }
}

/// A resolved cutoff, compared with the servers' timestamps.
public struct Cutoff: Sendable, Equatable, Codable {
  /// Epoch seconds.
  public var epochSeconds: Int64

  public init(epochSeconds: Int64) { self.epochSeconds = epochSeconds }

  /// Whether a `LastModified` (ISO 8601 from a listing, or an HTTP date from a HEAD) is after the cutoff.
  /// Servers keep whole seconds (AWS lists `.000`): an object written in the cutoff's own second may carry
  /// that second whether it came before or after, so that second counts as after (a skip, never a wrong
  /// verdict). An unreadable timestamp counts as after too, for the same reason.
  public func isAfter(_ lastModified: String) -> Bool {
    guard let seconds = parseInstant(lastModified)?.seconds ?? parseHTTPDate(lastModified) else { return true }
    return seconds >= epochSeconds
  }

  /// RFC 3339, UTC.
  public var text: String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: Date(timeIntervalSince1970: TimeInterval(epochSeconds)))
  }
}

/// Epoch seconds of an IMF-fixdate (`Wed, 02 Dec 2026 06:07:29 GMT`, RFC 9110), the form of HTTP's
/// `Date` and `Last-Modified` headers; nil otherwise.
public func parseHTTPDate(_ text: String) -> Int64? {
  let parts = text.split(separator: " ")
  let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
  guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]),
    let month = months.firstIndex(of: String(parts[2])),
    let year = Int(parts[3])
  else { return nil }
  let hms = parts[4].split(separator: ":").compactMap { Int($0) }
  guard hms.count == 3 else { return nil }
  let iso = String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month + 1, day, hms[0], hms[1], hms[2])
  return parseInstant(iso)?.seconds
}
