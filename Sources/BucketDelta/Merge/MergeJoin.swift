import S3

/// One step of the merge of two sorted listings.
public enum MergeEvent: Sendable {
  case onlyInSource(ListedObject)
  case onlyInDestination(ListedObject)
  case inBoth(source: ListedObject, destination: ListedObject)

  /// The key this event is about.
  public var key: String {
    switch self {
    case .onlyInSource(let o), .onlyInDestination(let o): return o.key
    case .inBoth(let s, _): return s.key
    }
  }
}

/// Merge-join of two listings sorted by UTF-8 key bytes, in O(n + m) and constant memory.
///
/// Both inputs must be strictly increasing; wrap them in `OrderGuard` so that a listing that goes
/// backwards or repeats a key throws instead of producing a wrong verdict.
public final class MergeJoin {
  private let source: ObjectStream
  private let destination: ObjectStream
  private var s: ListedObject?
  private var d: ListedObject?
  private var primed = false

  public init(source: ObjectStream, destination: ObjectStream) {
    self.source = source
    self.destination = destination
  }

  /// The next event in key order, or nil when both listings are exhausted.
  public func next() throws -> MergeEvent? {
    if !primed {
      s = try source.next()
      d = try destination.next()
      primed = true
    }
    switch (s, d) {
    case (nil, nil):
      return nil
    case (let so?, nil):
      s = try source.next()
      return .onlyInSource(so)
    case (nil, let dobj?):
      d = try destination.next()
      return .onlyInDestination(dobj)
    case (let so?, let dobj?):
      let c = KeyOrder.compare(so.key, dobj.key)
      if c < 0 {
        s = try source.next()
        return .onlyInSource(so)
      } else if c > 0 {
        d = try destination.next()
        return .onlyInDestination(dobj)
      } else {
        s = try source.next()
        d = try destination.next()
        return .inBoth(source: so, destination: dobj)
      }
    }
  }
}
