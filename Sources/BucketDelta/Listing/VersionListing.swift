import Foundation
import Logging
import S3

/// One key's versions and delete markers (`versions: true`), newest first as the server lists them;
/// the key is relative to the pair's prefix.
public struct KeyHistory: Sendable, Equatable {
  public var key: String
  public var versions: [ObjectVersion]
  public init(key: String, versions: [ObjectVersion]) {
    self.key = key
    self.versions = versions
  }
}

/// A version carried through the listing machinery (`ObjectStream`, the external sorter) as a
/// `ListedObject`: its place in the server's listing, the flags and the version ID ride in the ETag field,
/// so that a listing sorted again (by key only, stability not needed) can restore each key's order.
enum VersionEntry {
  static func encode(_ v: ObjectVersion, relativeKey: String, seq: Int) -> ListedObject {
    ListedObject(
      key: relativeKey, etag: "\(seq)|\(v.isLatest ? 1 : 0)|\(v.isDeleteMarker ? 1 : 0)|\(v.versionID)|\(v.etag)",
      size: v.size, lastModified: v.lastModified)
  }

  static func decode(_ o: ListedObject) -> (seq: Int, version: ObjectVersion)? {
    let parts = o.etag.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false)
    guard parts.count == 5, let seq = Int(parts[0]) else { return nil }
    return (
      seq,
      ObjectVersion(
        key: o.key, versionID: String(parts[3]), isLatest: parts[1] == "1", isDeleteMarker: parts[2] == "1",
        etag: String(parts[4]), size: o.size, lastModified: o.lastModified)
    )
  }
}

/// Lists one side with ListObjectVersions (key-marker/version-id-marker paging, `encoding-type=url`) as
/// version entries (`VersionEntry`), keys relative to the prefix. Keys must not go down in UTF-8 byte
/// order (a key's versions share it): a server that lists out of order raises `ListingOrderError`
/// (`.backwards`), and the pair lists that side again, sorted.
final class VersionEntryListing: ObjectStream {
  private let target: ListingTarget
  private let side: Side
  private let logger: Logger
  private var current: [ListedObject] = []
  private var index = 0
  private var markers: (key: String?, version: String?) = (nil, nil)
  private var done = false
  private var closed = false
  private var seq = 0
  private var previous: String?
  private var pages = 0
  private let location: String

  init(target: ListingTarget, side: Side, logger: Logger) {
    self.target = target
    self.side = side
    self.logger = logger
    self.location = "bucket '\(target.bucket)' at \(target.client.endpoint)"
  }

  func next() throws -> ListedObject? {
    while index >= current.count {
      if done || closed { return nil }
      let page = try target.client.listObjectVersions(
        bucket: target.bucket, prefix: target.listPrefix, keyMarker: markers.key, versionIDMarker: markers.version,
        maxKeys: target.pageSize)
      pages += 1
      var out: [ListedObject] = []
      out.reserveCapacity(page.versions.count)
      for v in page.versions {
        guard v.key.hasPrefixBytes(target.prefix) else {
          throw S3Error(
            kind: .protocolViolation("version of '\(v.key)' listed outside the prefix '\(target.prefix)'"),
            operation: "ListObjectVersions", endpoint: target.client.endpoint.description, bucket: target.bucket)
        }
        let key = String(decoding: v.key.utf8.dropFirst(target.prefix.utf8.count), as: UTF8.self)
        if let p = previous, KeyOrder.compare(p, key) > 0 {
          throw ListingOrderError(kind: .backwards, side: side, previous: p, key: key, location: location)
        }
        previous = key
        out.append(VersionEntry.encode(v, relativeKey: key, seq: seq))
        seq += 1
      }
      if page.isTruncated {
        let next = (page.nextKeyMarker, page.nextVersionIDMarker)
        guard next.0 != markers.key || next.1 != markers.version else {
          throw S3Error(
            kind: .protocolViolation("ListObjectVersions returned the same markers twice (\(next.0 ?? ""))"),
            operation: "ListObjectVersions", endpoint: target.client.endpoint.description, bucket: target.bucket)
        }
        markers = next
      } else {
        done = true
      }
      logger.debug("Listed versions page \(pages) of \(side) bucket \(target.bucket): \(out.count) entries")
      current = out
      index = 0
    }
    defer { index += 1 }
    return current[index]
  }

  func close() { closed = true }
}

/// Groups a stream of version entries (sorted by key) into key histories, each newest first as listed.
final class KeyHistoryStream {
  private let base: ObjectStream
  private var pending: ListedObject?

  init(_ base: ObjectStream) { self.base = base }

  func next() throws -> KeyHistory? {
    guard let first = try pending ?? base.next() else { return nil }
    pending = nil
    var group = [first]
    while let o = try base.next() {
      if o.key == first.key {
        group.append(o)
      } else {
        pending = o
        break
      }
    }
    var decoded: [(seq: Int, version: ObjectVersion)] = []
    for o in group {
      guard let d = VersionEntry.decode(o) else { throw WorkerError("malformed version entry of '\(o.key)'") }
      decoded.append(d)
    }
    decoded.sort { $0.seq < $1.seq }
    return KeyHistory(key: first.key, versions: decoded.map(\.version))
  }

  func close() { base.close() }
}
