import S3

/// A field that can differ between the two copies of an object.
public enum DifferenceField: String, Sendable, CaseIterable, Codable {
  case etag, size, metadata, tags
  case contentType = "content_type"
  case contentEncoding = "content_encoding"
  case contentLanguage = "content_language"
  case contentDisposition = "content_disposition"
  case cacheControl = "cache_control"
  case expires
  case objectLockMode = "object_lock_mode"
  case objectLockRetainUntilDate = "object_lock_retain_until_date"
  case objectLockLegalHold = "object_lock_legal_hold"

  /// The label the tool we replace prints in its text report.
  public var textLabel: String { DeepField.row(self).label }
}

/// What one key's comparison found.
public enum DifferenceStatus: String, Sendable {
  case onlyInSource = "only_in_source"
  case onlyInDestination = "only_in_destination"
  case different
  /// The key could not be checked (e.g. HeadObject failed after the retries): never "identical".
  case error
}

/// One reported difference.
public struct Difference: Sendable {
  public var key: String
  public var status: DifferenceStatus
  public var fields: [DifferenceField]
  public var source: ListedObject?
  public var destination: ListedObject?
  /// What the deep check saw on each side (nil for shallow checks).
  public var sourceDetails: ObjectDetails?
  public var destinationDetails: ObjectDetails?
  /// Why the key could not be checked (status `.error`).
  public var error: String?
  /// With `.error`: the cause on each side that failed (for counting, never reported per key).
  public var failures: [KeyFailure] = []

  public init(
    key: String, status: DifferenceStatus, fields: [DifferenceField], source: ListedObject?,
    destination: ListedObject?, sourceDetails: ObjectDetails? = nil, destinationDetails: ObjectDetails? = nil,
    error: String? = nil
  ) {
    self.key = key
    self.status = status
    self.fields = fields
    self.source = source
    self.destination = destination
    self.sourceDetails = sourceDetails
    self.destinationDetails = destinationDetails
    self.error = error
  }
}

/// The shallow check: what the listings alone can tell.
public enum ShallowCheck {
  /// The fields that differ between two listed copies of one key (ETags compared without quotes).
  public static func compare(_ s: ListedObject, _ d: ListedObject) -> [DifferenceField] {
    var out: [DifferenceField] = []
    if s.etag != d.etag { out.append(.etag) }
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

/// The deep check: HeadObject (and GetObjectTagging) on both sides.
public enum DeepCheck {
  /// The fields that differ between two copies, in `DeepField.all` order. Metadata names are compared
  /// case-insensitively, values exactly; tags as sets; the header fields as their rows say.
  public static func compare(_ s: ObjectDetails, _ d: ObjectDetails, compareTags: Bool) -> [DifferenceField] {
    var out: [DifferenceField] = []
    for row in DeepField.all {
      let same: Bool
      switch row.source {
      case .etag: same = s.etag == d.etag
      case .size: same = s.size == d.size
      case .metadata: same = lowerKeys(s.metadata) == lowerKeys(d.metadata)
      case .tags: same = !compareTags || (s.tags ?? [:]) == (d.tags ?? [:])
      case .header(let h): same = row.comparison.equal(s.headers[h], d.headers[h])
      }
      if !same { out.append(row.field) }
    }
    return out
  }

  private static func lowerKeys(_ m: [String: String]) -> [String: String] {
    Dictionary(m.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
  }

  /// Dates compared as instants when both parse (ISO 8601 with any precision), else as text.
  static func sameInstant(_ a: String?, _ b: String?) -> Bool {
    guard let a, let b else { return a == nil && b == nil }
    if let x = parseInstant(a), let y = parseInstant(b) { return x == y }
    return a == b
  }
}
