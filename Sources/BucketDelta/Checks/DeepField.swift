import S3

/// The fields the checks compare, one row each, in report order. The comparison (`DeepCheck`), the
/// report labels, the JSON Lines record and the headers a HEAD answer keeps all read this table, and a
/// test holds `schemas/report-record.schema.json` to it: a new field is one row (plus its
/// `DifferenceField` case, which names it in the worker protocol and the JSON).
public struct DeepField: Sendable {
  /// Where a field's value comes from.
  public enum Source: Sendable, Equatable {
    /// Decided by the verification ladder (`ContentCheck`), not compared field by field.
    case content
    case metadata, tags
    /// A single-valued HeadObject header (lower case).
    case header(String)
  }

  /// How two values of a header field are compared.
  public enum Comparison: Sendable {
    /// Byte for byte; absent equals only absent.
    case exact
    /// As instants when both parse (servers write 0 to 9 fractional digits), else as text.
    case instant
    /// Case-insensitively, an absent value counting as `absent`.
    case caseInsensitive(absent: String?)

    func equal(_ a: String?, _ b: String?) -> Bool {
      switch self {
      case .exact: return a == b
      case .instant: return DeepCheck.sameInstant(a, b)
      case .caseInsensitive(let absent): return (a?.uppercased() ?? absent) == (b?.uppercased() ?? absent)
      }
    }
  }

  public let field: DifferenceField
  public let source: Source
  public let comparison: Comparison
  /// The label in the text report (the replaced tool's wording).
  public let label: String

  public static let all: [DeepField] = [
    .init(field: .etag, source: .content, comparison: .exact, label: "ETag differs"),
    .init(field: .size, source: .content, comparison: .exact, label: "Size differs"),
    .init(field: .checksum, source: .content, comparison: .exact, label: "Checksum differs"),
    .init(field: .content, source: .content, comparison: .exact, label: "Content differs"),
    .init(field: .metadata, source: .metadata, comparison: .exact, label: "Metadata differs"),
    .init(field: .tags, source: .tags, comparison: .exact, label: "Tags differ"),
    .init(field: .contentType, source: .header("content-type"), comparison: .exact, label: "ContentType differs"),
    .init(
      field: .contentEncoding, source: .header("content-encoding"), comparison: .exact, label: "ContentEncoding differs"
    ),
    .init(
      field: .contentLanguage, source: .header("content-language"), comparison: .exact, label: "ContentLanguage differs"
    ),
    .init(
      field: .contentDisposition, source: .header("content-disposition"), comparison: .exact,
      label: "ContentDisposition differs"),
    .init(field: .cacheControl, source: .header("cache-control"), comparison: .exact, label: "CacheControl differs"),
    .init(field: .expires, source: .header("expires"), comparison: .instant, label: "Expires differs"),
    .init(
      field: .objectLockMode, source: .header("x-amz-object-lock-mode"), comparison: .caseInsensitive(absent: nil),
      label: "ObjectLockMode differs"),
    .init(
      field: .objectLockRetainUntilDate, source: .header("x-amz-object-lock-retain-until-date"), comparison: .instant,
      label: "ObjectLockRetainUntilDate differs"),
    .init(
      field: .objectLockLegalHold, source: .header("x-amz-object-lock-legal-hold"),
      comparison: .caseInsensitive(absent: "OFF"), label: "ObjectLockLegalHoldStatus differs"),
  ]

  /// The headers a HeadObject answer keeps for the comparison.
  public static let headerNames: [String] = all.compactMap {
    if case .header(let h) = $0.source { return h }
    return nil
  }

  /// The row of `field`.
  public static func row(_ field: DifferenceField) -> DeepField {
    guard let r = all.first(where: { $0.field == field }) else { preconditionFailure("no deep field \(field)") }
    return r
  }
}
