import Foundation
import S3

/// Whether an endpoint's `x-amz-tagging-count` HEAD header may stand in for GetObjectTagging
/// (`tagging_count_header`). Amazon S3 sends it on HeadObject when an object has tags and omits it when
/// it has none; SeaweedFS 4.48 and moto 5.2 do too (measured here).
public enum TaggingCountMode: String, Sendable, Codable, CaseIterable {
  /// Trust it on Amazon S3 hosts (`*.amazonaws.com`); elsewhere once the endpoint has sent it.
  case auto
  /// A HEAD without it means no tags.
  case trust
  /// Always fetch tags (the replaced tool's behaviour).
  case ignore
}

/// What the deep check learns about each endpoint's tagging-count header, within one worker process.
final class TaggingCountPolicy: @unchecked Sendable {
  // @unchecked: `learned`, `distrusted` and `checked` are guarded by `lock`.
  private let lock = NSLock()
  private var learned = Set<String>()
  private var distrusted = Set<String>()
  private var checked = 0
  /// Every `sample`th key has its tags fetched even when the headers say none.
  let sample: Int

  init(sample: Int) { self.sample = max(1, sample) }

  /// Whether `endpoint`'s header is trusted now.
  func trusts(_ endpoint: EndpointConfig) -> Bool {
    switch endpoint.taggingCountHeader {
    case .trust: return true
    case .ignore: return false
    case .auto:
      if Self.isAmazonS3(endpoint) { return true }
      return lock.withLock { learned.contains(endpoint.name) && !distrusted.contains(endpoint.name) }
    }
  }

  /// Records what a HEAD of `endpoint` carried and, when the tags were fetched too, whether the count
  /// agreed with them. Returns false when a trusted header disagreed: the verdicts that trusted it
  /// cannot stand.
  func observe(_ endpoint: EndpointConfig, count: Int?, tags: [String: String]?, trusted: Bool) -> Bool {
    let agrees = tags.map { (count ?? 0) == $0.count } ?? true
    guard endpoint.taggingCountHeader == .auto else { return agrees || !trusted }
    lock.withLock {
      if !agrees {
        distrusted.insert(endpoint.name)
      } else if count != nil {
        learned.insert(endpoint.name)
      }
    }
    return agrees || !trusted
  }

  /// Whether this key is one of the sample whose tags are fetched anyway.
  func nextIsSample() -> Bool {
    lock.withLock {
      defer { checked += 1 }
      return checked % sample == 0
    }
  }

  static func isAmazonS3(_ endpoint: EndpointConfig) -> Bool {
    let host = endpoint.endpoint.host.lowercased()
    return host == "amazonaws.com" || host.hasSuffix(".amazonaws.com")
  }

  /// The count a HEAD answer carried (nil: the header was absent or unreadable).
  static func count(_ d: ObjectDetails) -> Int? {
    d.headers[header].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
  }

  static let header = "x-amz-tagging-count"
}

/// A trusted `x-amz-tagging-count` that disagreed with the object's tags: the pair stops (exit 2).
public struct TaggingCountMismatch: Error, CustomStringConvertible {
  public var endpoint: String
  public var key: String
  public var detail: String
  public var description: String {
    "endpoint \(endpoint) sent an x-amz-tagging-count that does not match the object's tags (key '\(key)': \(detail)); verdicts that trusted it cannot stand. Set tagging_count_header: ignore for endpoint \(endpoint) (--source_tagging_count_header/--destination_tagging_count_header ignore) and run again with --resume: the pair continues from its last checkpoint"
  }
}
