import S3

/// A field that can differ between the two copies of an object.
public enum DifferenceField: String, Sendable, CaseIterable {
  case etag, size

  /// The label the tool we replace prints in its text report.
  public var textLabel: String {
    switch self {
    case .etag: return "ETag differs"
    case .size: return "Size differs"
    }
  }
}

/// What one key's comparison found.
public enum DifferenceStatus: String, Sendable {
  case onlyInSource = "only_in_source"
  case onlyInDestination = "only_in_destination"
  case different
}

/// One reported difference.
public struct Difference: Sendable {
  public var key: String
  public var status: DifferenceStatus
  public var fields: [DifferenceField]
  public var source: ListedObject?
  public var destination: ListedObject?

  public init(key: String, status: DifferenceStatus, fields: [DifferenceField], source: ListedObject?, destination: ListedObject?) {
    self.key = key
    self.status = status
    self.fields = fields
    self.source = source
    self.destination = destination
  }
}

/// The shallow check: what the listings alone can tell.
public enum ShallowCheck {
  /// The fields that differ between two listed copies of one key (ETags compared without quotes).
  public static func compare(_ s: ListedObject, _ d: ListedObject) -> [DifferenceField] {
    var out: [DifferenceField] = []
    if unquoteETag(s.etag) != unquoteETag(d.etag) { out.append(.etag) }
    if s.size != d.size { out.append(.size) }
    return out
  }

  /// The difference a merge event amounts to, or nil when the key is identical on both sides.
  public static func evaluate(_ event: MergeEvent) -> Difference? {
    switch event {
    case .onlyInSource(let o):
      return Difference(key: o.key, status: .onlyInSource, fields: [], source: o, destination: nil)
    case .onlyInDestination(let o):
      return Difference(key: o.key, status: .onlyInDestination, fields: [], source: nil, destination: o)
    case .inBoth(let s, let d):
      let fields = compare(s, d)
      return fields.isEmpty
        ? nil : Difference(key: s.key, status: .different, fields: fields, source: s, destination: d)
    }
  }
}
