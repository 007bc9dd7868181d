import Logging
import S3

/// The prefix warnings of one pair, kept across the attempts of its comparison (a listing that falls
/// back to one stream is read again, but warned about once).
final class PrefixWarnings {
  private(set) var bySide: [Side: String] = [:]
  /// The warnings, source first.
  var all: [String] { [Side.source, .destination].compactMap { bySide[$0] } }
  fileprivate func add(_ side: Side, _ text: String, logger: Logger) {
    guard bySide[side] == nil else { return }
    bySide[side] = text
    logger.warning("\(text)")
  }
}

/// Watches a listing whose prefix does not end in `/`: `--source_prefix photos` also matches
/// `photos-old/c.jpg`, compared as `-old/c.jpg`. That is sometimes meant, so the keys stay; the first
/// such key is named in a warning (log and summary), once per side.
final class PrefixBoundaryWatch: ObjectStream {
  private let base: ObjectStream
  private let side: Side
  private let prefix: String
  private let logger: Logger
  private let warnings: PrefixWarnings
  private var warned = false

  /// Whether a listing under `prefix` needs watching: a non-empty prefix without a trailing `/`.
  static func applies(to prefix: String) -> Bool { !prefix.isEmpty && prefix.utf8.last != UInt8(ascii: "/") }

  init(_ base: ObjectStream, side: Side, prefix: String, warnings: PrefixWarnings, logger: Logger) {
    self.warnings = warnings
    self.base = base
    self.side = side
    self.prefix = prefix
    self.logger = logger
  }

  func next() throws -> ListedObject? {
    guard let o = try base.next() else { return nil }
    // The key as listed has lost the prefix: a name under the "folder" starts with "/", the object
    // named exactly like the prefix is empty.
    if !warned, let first = o.key.utf8.first, first != UInt8(ascii: "/") {
      warned = true
      warnings.add(
        side,
        "the \(side) prefix '\(prefix)' does not end in '/' and also matches keys that only start with it, such as '\(prefix)\(o.key)' (compared as '\(o.key)'); add a trailing '/' to compare only what is under '\(prefix)/'",
        logger: logger)
    }
    return o
  }

  func close() { base.close() }
}
