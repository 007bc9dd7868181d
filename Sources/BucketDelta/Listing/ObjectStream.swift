import S3

/// A source of listed objects, pulled one at a time. `next()` returns nil at the end.
public protocol ObjectStream: AnyObject {
  func next() throws -> ListedObject?
  /// Stops any background work; further `next()` calls may return nil.
  func close()
}

extension ObjectStream {
  public func close() {}
}

/// Which side of a pair.
public enum Side: String, Sendable, CustomStringConvertible {
  case source, destination
  public var description: String { rawValue }
  /// The sides in `set`, source first (for reports, summaries and checkpoints).
  static func inOrder(_ set: Set<Side>) -> [Side] { [.source, .destination].filter(set.contains) }
}

/// A listing that breaks the order the merge-join relies on.
public struct ListingOrderError: Error, Sendable, CustomStringConvertible {
  public enum Kind: Sendable {
    case backwards, duplicate
    /// Ranges listed side by side do not join up (see `PartitionedListing`).
    case rangeHandOff
  }
  public var kind: Kind
  public var side: Side
  public var previous: String
  public var key: String
  /// Where the listing came from, e.g. `bucket 'photos' at http://127.0.0.1:8333`.
  public var location: String
  /// For `.rangeHandOff`: what did not match.
  public var detail: String = ""
  public init(kind: Kind, side: Side, previous: String, key: String, location: String, detail: String = "") {
    self.kind = kind
    self.side = side
    self.previous = previous
    self.key = key
    self.location = location
    self.detail = detail
  }
  public var description: String {
    let from = location.isEmpty ? "" : " (\(location))"
    switch kind {
    case .backwards:
      return "\(side) listing\(from) is not in UTF-8 byte order: '\(key)' came after '\(previous)'"
    case .duplicate:
      return "\(side) listing\(from) returned the key '\(key)' twice"
    case .rangeHandOff:
      return "\(side) listing\(from) does not join up between key ranges at '\(previous)': \(detail)"
    }
  }
}

/// A stream over an array (tests, small listings).
public final class ArrayObjectStream: ObjectStream {
  private var items: [ListedObject]
  private var index = 0
  public init(_ items: [ListedObject]) { self.items = items }
  public func next() throws -> ListedObject? {
    guard index < items.count else { return nil }
    defer { index += 1 }
    return items[index]
  }
}

/// Passes objects through and throws `ListingOrderError` as soon as a key is not strictly greater
/// than the one before it, so an out-of-order listing can never yield a wrong verdict.
public final class OrderGuard: ObjectStream {
  private let base: ObjectStream
  private let side: Side
  private let location: String
  private var previous: String?

  public init(_ base: ObjectStream, side: Side, location: String = "") {
    self.base = base
    self.side = side
    self.location = location
  }

  public func next() throws -> ListedObject? {
    guard let object = try base.next() else { return nil }
    if let previous {
      let c = KeyOrder.compare(previous, object.key)
      if c >= 0 {
        throw ListingOrderError(
          kind: c == 0 ? .duplicate : .backwards, side: side, previous: previous, key: object.key,
          location: location)
      }
    }
    previous = object.key
    return object
  }

  public func close() { base.close() }
}
