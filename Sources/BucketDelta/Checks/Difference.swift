import S3

/// A field that can differ between the two copies of an object.
public enum DifferenceField: String, Sendable, CaseIterable, Codable {
  case etag, size, checksum, content, metadata, tags
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

/// What one key's comparison found: exactly one of these per key.
public enum DifferenceStatus: String, Sendable, Codable {
  /// Proven the same at the level asked for (reported only with `report_matches`).
  case identical
  case onlyInSource = "only_in_source"
  case onlyInDestination = "only_in_destination"
  /// Proven different.
  case different
  /// Sizes equal, but nothing available at the requested level decides (`reason` says why).
  case unverified
  /// The key could not be checked (e.g. HeadObject failed after the retries): never "identical".
  case error
  /// Not judged: changed after the as-of cutoff on a side (listed in the report only with `report_skipped`).
  case changedAfterCutoff = "changed_after_cutoff"
  /// Not judged: left out by the pair's filters (counted, never reported).
  case excluded
  /// `versions: true`: a source version the destination's history lacks.
  case versionMissingInDestination = "version_missing_in_destination"
  /// `versions: true`: a destination version the source's history lacks (with
  /// `extra_destination_versions: report`).
  case versionOnlyInDestination = "version_only_in_destination"
  /// `versions: true`: versions at the same place in both histories whose content differs.
  case versionDifferent = "version_different"
  /// `versions: true`: a source delete marker the destination's history lacks.
  case deleteMarkerMissing = "delete_marker_missing"
  /// `versions: true`: a destination delete marker the source's history lacks.
  case deleteMarkerExtra = "delete_marker_extra"

  /// The statuses of one version of a history (`versions: true`).
  public static let versionStatuses: [DifferenceStatus] = [
    .versionMissingInDestination, .versionOnlyInDestination, .versionDifferent, .deleteMarkerMissing,
    .deleteMarkerExtra,
  ]
}

/// Which version of a history a record is about (`versions: true`).
public struct VersionRef: Sendable, Equatable {
  public var id: String
  /// 1-based place in the side's history, oldest first, and the history's length.
  public var position: Int
  public var count: Int
  public var isDeleteMarker: Bool
  public init(id: String, position: Int, count: Int, isDeleteMarker: Bool) {
    self.id = id
    self.position = position
    self.count = count
    self.isDeleteMarker = isDeleteMarker
  }
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
  /// How the verdict was reached (`listing`, `size`, `etag`, `checksum:CRC32`, ...); nil for
  /// `unverified` and `error`.
  public var verifiedBy: String?
  /// Why the content could not be decided (status `.unverified`).
  public var reason: String?
  /// Bytes of content read to decide this key.
  public var bytesRead: Int64 = 0
  /// GetObjectTagging requests the HEADs made unnecessary.
  public var tagFetchesSaved = 0
  /// With `.error`: the cause on each side that failed (for counting, never reported per key).
  public var failures: [KeyFailure] = []
  /// The versions the record is about (`versions: true`).
  public var sourceVersion: VersionRef?
  public var destinationVersion: VersionRef?

  public init(
    key: String, status: DifferenceStatus, fields: [DifferenceField], source: ListedObject?,
    destination: ListedObject?, sourceDetails: ObjectDetails? = nil, destinationDetails: ObjectDetails? = nil,
    error: String? = nil, verifiedBy: String? = nil, reason: String? = nil
  ) {
    self.key = key
    self.status = status
    self.fields = fields
    self.source = source
    self.destination = destination
    self.sourceDetails = sourceDetails
    self.destinationDetails = destinationDetails
    self.error = error
    self.verifiedBy = verifiedBy
    self.reason = reason
  }

  /// The record of a key found in both buckets: `fields` are the deep check's differences beyond content
  /// (metadata, tags, headers), `content` the ladder's verdict.
  public static func inBoth(
    _ s: ListedObject, _ d: ListedObject, fields: [DifferenceField], content: ContentVerdict,
    sourceDetails: ObjectDetails? = nil, destinationDetails: ObjectDetails? = nil
  ) -> Difference {
    var all = fields
    let status: DifferenceStatus
    var by: String? = nil
    var reason: String? = nil
    switch content {
    case .identical(let how):
      by = how
      status = fields.isEmpty ? .identical : .different
    case .different(let how, let contentFields):
      by = how
      all = contentFields + fields
      status = .different
    case .unverified(let why):
      reason = why
      status = fields.isEmpty ? .unverified : .different
    }
    // In report order (the table's), as the replaced tool listed them.
    all = DeepField.all.map(\.field).filter(all.contains)
    return Difference(
      key: s.key, status: status, fields: all, source: s, destination: d, sourceDetails: sourceDetails,
      destinationDetails: destinationDetails, verifiedBy: by, reason: reason)
  }
}

/// The shallow check: what the listings alone can tell.
public enum ShallowCheck {
  /// The record of a merge event from the listings alone (sizes and ETags; `unverified` ones may be
  /// escalated to HEADs).
  public static func evaluate(_ event: MergeEvent) -> Difference {
    switch event {
    case .onlyInSource(let o):
      return Difference(
        key: o.key, status: .onlyInSource, fields: [], source: o, destination: nil, verifiedBy: "listing")
    case .onlyInDestination(let o):
      return Difference(
        key: o.key, status: .onlyInDestination, fields: [], source: nil, destination: o, verifiedBy: "listing")
    case .inBoth(let s, let d):
      let content = ContentCheck.decide(
        .init(size: s.size, etag: s.etag), .init(size: d.size, etag: d.etag), level: .etag)
      return .inBoth(s, d, fields: [], content: content)
    }
  }
}

/// The deep check: HeadObject (and GetObjectTagging) on both sides.
public enum DeepCheck {
  /// The fields beyond content that differ between two copies, in `DeepField.all` order. Metadata names
  /// are compared case-insensitively, values exactly; tags as sets; the header fields as their rows say.
  /// (Size, ETag and checksums are the verification ladder's: `ContentCheck`.)
  /// Fields and names in `ignoring` are left out.
  public static func compare(
    _ s: ObjectDetails, _ d: ObjectDetails, compareTags: Bool, ignoring ignore: IgnoredFields = IgnoredFields()
  ) -> [DifferenceField] {
    var out: [DifferenceField] = []
    for row in DeepField.all where !ignore.fields.contains(row.field) {
      let same: Bool
      switch row.source {
      case .content: continue
      case .metadata:
        same = ignore.keep(metadata: lowerKeys(s.metadata)) == ignore.keep(metadata: lowerKeys(d.metadata))
      case .tags: same = !compareTags || ignore.keep(tags: s.tags ?? [:]) == ignore.keep(tags: d.tags ?? [:])
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
