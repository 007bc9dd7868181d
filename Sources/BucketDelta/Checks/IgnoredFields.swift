/// Deep-check fields left out of the comparison (`ignore`): two vendors may fill a field differently
/// and legitimately (SeaweedFS sniffs Content-Type, moto writes `binary/octet-stream`), and a report full
/// of that noise hides the differences that matter.
public struct IgnoredFields: Sendable, Codable, Equatable {
  /// The names as given, in order (for the summary and the log).
  public private(set) var names: [String] = []
  /// Whole fields left out.
  public private(set) var fields: Set<DifferenceField> = []
  /// User metadata names left out (`metadata.NAME`; compared case-insensitively, as metadata names are).
  public private(set) var metadataNames: Set<String> = []
  /// Tag keys left out (`tag.NAME`; exact, as tag keys are).
  public private(set) var tagNames: Set<String> = []

  /// The names that stand for whole fields.
  public static let fieldNames: [(name: String, fields: [DifferenceField])] = [
    ("content_type", [.contentType]), ("cache_control", [.cacheControl]),
    ("content_disposition", [.contentDisposition]), ("content_encoding", [.contentEncoding]),
    ("content_language", [.contentLanguage]), ("expires", [.expires]), ("metadata", [.metadata]), ("tags", [.tags]),
    ("object_lock", [.objectLockMode, .objectLockRetainUntilDate, .objectLockLegalHold]),
    ("legal_hold", [.objectLockLegalHold]), ("retention", [.objectLockMode, .objectLockRetainUntilDate]),
  ]

  /// Every accepted form, for messages.
  public static var validNames: String {
    (fieldNames.map(\.name) + ["metadata.NAME", "tag.NAME"]).joined(separator: ", ")
  }

  public init() {}

  /// The set of `names`, or what is wrong with the first bad one.
  public static func parse(_ names: [String]) -> Result<IgnoredFields, IgnoreError> {
    var out = IgnoredFields()
    for name in names {
      if let row = fieldNames.first(where: { $0.name == name }) {
        out.fields.formUnion(row.fields)
      } else if name.hasPrefix("metadata."), name.count > "metadata.".count {
        out.metadataNames.insert(String(name.dropFirst("metadata.".count)).lowercased())
      } else if name.hasPrefix("tag."), name.count > "tag.".count {
        out.tagNames.insert(String(name.dropFirst("tag.".count)))
      } else {
        return .failure(IgnoreError(name: name))
      }
      out.names.append(name)
    }
    return .success(out)
  }

  public var isEmpty: Bool { names.isEmpty }

  /// `metadata` without the ignored names.
  func keep(metadata: [String: String]) -> [String: String] {
    metadataNames.isEmpty ? metadata : metadata.filter { !metadataNames.contains($0.key.lowercased()) }
  }

  /// `tags` without the ignored keys.
  func keep(tags: [String: String]) -> [String: String] {
    tagNames.isEmpty ? tags : tags.filter { !tagNames.contains($0.key) }
  }
}

/// An `ignore` entry that names no field.
public struct IgnoreError: Error, Sendable, CustomStringConvertible {
  public var name: String
  public var description: String {
    "unknown field '\(name)' (expected one of: \(IgnoredFields.validNames))"
  }
}
