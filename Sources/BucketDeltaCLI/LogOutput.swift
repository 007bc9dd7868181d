import BucketDelta
import Foundation
import Logging

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Log lines in the shape of the tool we replace, on stderr:
/// `[2025-01-15 10:30:15 - INFO] - Listing all objects from source bucket: photos`.
public struct BucketDeltaLogHandler: LogHandler {
  public var logLevel: Logger.Level
  public var metadata: Logger.Metadata = [:]
  private let write: @Sendable (String) -> Void

  public init(level: Logger.Level, write: @escaping @Sendable (String) -> Void = writeStandardError) {
    self.logLevel = level
    self.write = write
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    write("[\(Self.timestamp()) - \(Self.name(event.level))] - \(event.message)\n")
  }

  static func name(_ level: Logger.Level) -> String {
    switch level {
    case .trace, .debug: return "DEBUG"
    case .info, .notice: return "INFO"
    case .warning: return "WARNING"
    case .error: return "ERROR"
    case .critical: return "CRITICAL"
    }
  }

  static func timestamp() -> String {
    var t = time(nil)
    var tmv = tm()
    localtime_r(&t, &tmv)
    var buf = [CChar](repeating: 0, count: 32)
    let n = strftime(&buf, buf.count, "%Y-%m-%d %H:%M:%S", &tmv)
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}

/// Writes `text` to file descriptor 2 in one `write` call (lines from threads do not interleave),
/// above the progress block when one is shown.
public func writeStandardError(_ text: String) {
  ProgressDisplay.write(text)
}
