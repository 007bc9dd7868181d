import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The two date spellings SigV4 uses, computed with `gmtime_r` (no formatter, no locale).
public struct AMZDate: Sendable, Equatable {
  /// `YYYYMMDD'T'HHMMSS'Z'`
  public let timestamp: String
  /// `YYYYMMDD`
  public let day: String

  public init(_ date: Date) {
    var t = time_t(date.timeIntervalSince1970.rounded(.down))
    var tmv = tm()
    gmtime_r(&t, &tmv)
    func pad(_ v: Int32, _ width: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    day = pad(tmv.tm_year + 1900, 4) + pad(tmv.tm_mon + 1, 2) + pad(tmv.tm_mday, 2)
    timestamp = day + "T" + pad(tmv.tm_hour, 2) + pad(tmv.tm_min, 2) + pad(tmv.tm_sec, 2) + "Z"
  }
}
