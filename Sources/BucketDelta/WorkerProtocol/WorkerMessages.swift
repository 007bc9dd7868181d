import Foundation
import S3

/// One side as a worker needs it: the coordinator's endpoint as decoded, the bucket and the prefix.
/// Travels only over the worker's stdin pipe (it holds the credentials), never in its argv or environment.
public struct WorkerSide: Codable, Sendable {
  public var endpoint: EndpointConfig
  public var bucket: String
  public var prefix: String

  public init(endpoint: EndpointConfig, bucket: String, prefix: String) {
    self.endpoint = endpoint
    self.bucket = bucket
    self.prefix = prefix
  }
}

/// One pair as the workers see it.
public struct WorkerPair: Codable, Sendable {
  public var source: WorkerSide
  public var destination: WorkerSide
  public var compareTags: Bool
  /// A deep check compares metadata, tags and headers; a shallow pair sends its workers only the keys the
  /// listings could not decide, for HEADs at `verify`.
  public var deep: Bool
  public var verify: VerifyLevel
  public var contentScope: ContentScope = .unverified
  /// Deep-check fields left out (`ignore`).
  public var ignore = IgnoredFields()
  /// The as-of cutoff: a key gone (404) or rewritten after it is `changed_after_cutoff`, not an error or a
  /// difference.
  public var cutoff: Cutoff?

  public init(source: WorkerSide, destination: WorkerSide, compareTags: Bool, deep: Bool = true, verify: VerifyLevel) {
    self.source = source
    self.destination = destination
    self.compareTags = compareTags
    self.deep = deep
    self.verify = verify
  }
}

/// The first line a worker reads: every pair of the run (one pool serves them all).
public struct WorkerConfig: Codable, Sendable {
  public var pairs: [WorkerPair]
  public var numConnections: Int
  public var maxAttempts: Int
  public var logLevel: LogLevel
  public var requestTimeout: Double = ClientOptions.defaultRequestTimeout
  /// The part of each endpoint's rate cap that one worker may use.
  public var rateShare: Double = 1
  /// The bytes this worker may read to compare content (its share of `max_content_bytes`); nil: no cap.
  public var contentBudget: Int64?
  /// Every this many keys the tags are fetched although the HEADs say none (`tagging_count_sample`).
  public var taggingCountSample = Tuning().taggingCountSample

  public init(pairs: [WorkerPair], numConnections: Int, maxAttempts: Int, logLevel: LogLevel) {
    self.pairs = pairs
    self.numConnections = numConnections
    self.maxAttempts = maxAttempts
    self.logLevel = logLevel
  }
}

/// A key to deep-check: `pair` indexes `WorkerConfig.pairs`; `seq` is the key's position in that
/// pair's merged order.
public struct WorkItem: Codable, Sendable {
  public var pair: Int
  public var seq: Int
  public var key: String
  /// `versions: true`: the version of each side to check (nil: the latest).
  public var sourceVersion: String? = nil
  public var destinationVersion: String? = nil
}

/// Coordinator to worker, one line per batch after the config line: `PAIR SEQ KEY` per item, all
/// separated by single spaces, each key percent-encoded (so it holds no space or newline); an item with
/// versions writes `KEY?SOURCE_VERSION?DESTINATION_VERSION`, each part percent-encoded (an encoded key
/// holds no `?`).
/// (JSONEncoder and JSONDecoder took 4-6% of the coordinator's and the workers' CPU.)
public struct WorkBatch: Sendable {
  public var items: [WorkItem]

  public init(items: [WorkItem]) { self.items = items }

  /// The line, without the newline.
  public var line: [UInt8] {
    var out: [UInt8] = []
    for item in items {
      if !out.isEmpty { out.append(0x20) }
      out += "\(item.pair) \(item.seq) ".utf8
      out += URIEncoding.encode(item.key).utf8
      if item.sourceVersion != nil || item.destinationVersion != nil {
        out +=
          "?\(URIEncoding.encode(item.sourceVersion ?? ""))?\(URIEncoding.encode(item.destinationVersion ?? ""))"
          .utf8
      }
    }
    return out
  }

  /// Reads a line written by `line`.
  public static func parse(_ line: [UInt8]) throws -> WorkBatch {
    let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
    guard !parts.isEmpty, parts.count % 3 == 0 else { throw WorkerError("malformed batch line") }
    func number(_ part: ArraySlice<UInt8>) throws -> Int {
      guard let n = decimal(part) else { throw WorkerError("malformed batch line") }
      return n
    }
    var items: [WorkItem] = []
    items.reserveCapacity(parts.count / 3)
    for i in stride(from: 0, to: parts.count, by: 3) {
      let fields = parts[i + 2].split(separator: UInt8(ascii: "?"), omittingEmptySubsequences: false)
      guard fields.count == 1 || fields.count == 3 else { throw WorkerError("malformed key in batch line") }
      var decoded: [String] = []
      for f in fields {
        guard let d = URIEncoding.formDecode(String(decoding: f, as: UTF8.self)) else {
          throw WorkerError("malformed key in batch line")
        }
        decoded.append(d)
      }
      var item = WorkItem(pair: try number(parts[i]), seq: try number(parts[i + 1]), key: decoded[0])
      if decoded.count == 3 {
        item.sourceVersion = decoded[1].isEmpty ? nil : decoded[1]
        item.destinationVersion = decoded[2].isEmpty ? nil : decoded[2]
      }
      items.append(item)
    }
    return WorkBatch(items: items)
  }
}

/// Why one side of a key could not be checked, without the key: the coordinator counts failures
/// with one cause (stopping a pair on repeated AccessDenied, summarising repeats in the log).
public struct KeyFailure: Codable, Sendable, Hashable {
  /// `source` or `destination`.
  public var side: String
  /// `HeadObject`, `GetObjectTagging`, ...
  public var operation: String
  /// `S3Error.kindSummary`: `HTTP 403 AccessDenied`, `transport error: ...`.
  public var kind: String

  public init(side: String, operation: String, kind: String) {
    self.side = side
    self.operation = operation
    self.kind = kind
  }

  /// The kind of a trusted `x-amz-tagging-count` that disagreed with the tags: the pair stops at once.
  public static let taggingCountMismatch = "TaggingCountMismatch"
  public var isTaggingCountMismatch: Bool { kind == Self.taggingCountMismatch }

  public var isAccessDenied: Bool { kind.hasSuffix(" AccessDenied") && kind.hasPrefix("HTTP 403") }
  public var description: String { "\(side) \(operation): \(kind)" }
}

/// Worker to coordinator, one JSON object per line.
public struct WorkResult: Codable, Sendable {
  public var pair: Int
  public var seq: Int
  public var fields: [DifferenceField]
  public var source: ObjectDetails?
  public var destination: ObjectDetails?
  public var error: String?
  /// Requests this key took on both sides, retries and throttling answers among them.
  public var counts: RequestCounts?
  /// With `error`: the cause on each side that failed.
  public var failures: [KeyFailure]?
  /// How the content was decided (nil when unverified or failed).
  public var verifiedBy: String?
  /// Why the content is unverified.
  public var reason: String?
  /// Bytes of content read for this key.
  public var bytesRead: Int64?
  /// GetObjectTagging requests not sent because both HEADs said "no tags".
  public var tagFetchesSaved: Int?
  /// The key was deleted or rewritten after the as-of cutoff (between the listing and the HEAD).
  public var changedAfterCutoff: Bool?

  public init(
    pair: Int, seq: Int, fields: [DifferenceField], source: ObjectDetails?, destination: ObjectDetails?,
    error: String?, counts: RequestCounts? = nil, failures: [KeyFailure]? = nil, verifiedBy: String? = nil,
    reason: String? = nil, bytesRead: Int64? = nil, tagFetchesSaved: Int? = nil, changedAfterCutoff: Bool? = nil
  ) {
    self.changedAfterCutoff = changedAfterCutoff
    self.pair = pair
    self.seq = seq
    self.fields = fields
    self.source = source
    self.destination = destination
    self.error = error
    self.counts = counts
    self.failures = failures
    self.verifiedBy = verifiedBy
    self.reason = reason
    self.bytesRead = bytesRead
    self.tagFetchesSaved = tagFetchesSaved
  }
}

extension WorkResult {
  /// The line a worker writes for this result (without the newline). An identical key, the common
  /// case, is a compact `=PAIR SEQ REQUESTS RETRIES THROTTLED VERIFIED_BY BYTES_READ TAG_FETCHES_SAVED`;
  /// anything else is JSON.
  /// JSONEncoder and JSONDecoder cost about 0.05 ms a line each, a quarter of the coordinator's CPU in a
  /// deep check.
  public func line(encoder: JSONEncoder) throws -> [UInt8] {
    guard fields.isEmpty, source == nil, destination == nil, error == nil, reason == nil, changedAfterCutoff == nil,
      let counts,
      let verifiedBy, let m = verifiedBy.utf8.first, (0x61...0x7A).contains(m),
      !verifiedBy.utf8.contains(where: { $0 <= 0x20 })
    else {
      return Array(try encoder.encode(self))
    }
    let text =
      "=\(pair) \(seq) \(counts.requests) \(counts.retries) \(counts.throttled) \(verifiedBy) \(bytesRead ?? 0) \(tagFetchesSaved ?? 0)"
    return Array(text.utf8)
  }

  /// Reads a line written by `line(encoder:)`.
  public static func parse(line: [UInt8], decoder: JSONDecoder) throws -> WorkResult {
    guard line.first == UInt8(ascii: "=") else { return try decoder.decode(WorkResult.self, from: Data(line)) }
    let parts = line.dropFirst().split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
    guard parts.count == 8, let m = parts[5].first, (0x61...0x7A).contains(m), let bytesRead = decimal(parts[6]),
      let saved = decimal(parts[7])
    else {
      throw WorkerError("malformed result line from a worker")
    }
    var numbers: [Int] = []
    for part in parts.prefix(5) {
      guard let n = decimal(part) else { throw WorkerError("malformed result line from a worker") }
      numbers.append(n)
    }
    var counts = RequestCounts()
    counts.requests = numbers[2]
    counts.retries = numbers[3]
    counts.throttled = numbers[4]
    return WorkResult(
      pair: numbers[0], seq: numbers[1], fields: [], source: nil, destination: nil, error: nil, counts: counts,
      verifiedBy: String(decoding: parts[5], as: UTF8.self), bytesRead: Int64(bytesRead), tagFetchesSaved: saved)
  }
}

/// A non-negative decimal of 1 to 18 ASCII digits (no sign, no spaces), or nil.
private func decimal(_ digits: ArraySlice<UInt8>) -> Int? {
  guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
  return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
}

/// Failures of the worker pool.
public struct WorkerError: Error, Sendable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
