import Foundation
import Logging
import S3

/// What to list on one side of a pair.
public struct ListingTarget: Sendable {
  public var client: S3Client
  public var bucket: String
  /// Only keys under this prefix are listed; it is removed from the keys handed on.
  public var prefix: String
  public var pageSize: Int
  /// List only keys after this one (relative to `prefix`).
  public var startAfter: String?
  /// A shard's key range: `ListingStrategy` lists only it (`RangeTail`, `IntervalFilter`).
  public var interval = KeyInterval.all
  /// Every boundary of the shard plan (a sorted full listing counts the keys of every range).
  public var planBoundaries: [String] = []
  /// Read the objects from this S3 Inventory instead of listing the bucket.
  public var inventory: InventorySnapshot?
  /// Listing requests ask for `prefix + narrowing` (keys stay relative to `prefix`): the literal start
  /// every included key has (`KeyFilter.listingPrefix`), so that excluded parts of a bucket are not listed.
  public var narrowing = ""
  /// The prefix listing requests ask for.
  var listPrefix: String { prefix + narrowing }

  public init(client: S3Client, bucket: String, prefix: String = "", pageSize: Int = 1000, startAfter: String? = nil) {
    self.client = client
    self.bucket = bucket
    self.prefix = prefix
    self.pageSize = pageSize
    self.startAfter = startAfter
  }
}

/// Lists one bucket with ListObjectsV2 on a background thread, a few pages ahead of the reader.
/// Memory is bounded by `prefetchPages` pages, whatever the bucket size.
public final class PagedListing: ObjectStream, @unchecked Sendable {
  // @unchecked: `pages`, `finished`, `closed` are guarded by `condition`; `current`/`index`
  // are touched only by the reading thread.
  private let condition = NSCondition()
  private var pages: [Result<[ListedObject], Error>] = []
  private var finished = false
  private var closed = false
  private let prefetchPages: Int
  private var current: [ListedObject] = []
  private var index = 0

  public init(target: ListingTarget, side: Side, prefetchPages: Int = 2, logger: Logger, progress: PairProgress? = nil)
  {
    self.prefetchPages = max(1, prefetchPages)
    let t = Thread { [self] in self.produce(target: target, side: side, logger: logger, progress: progress) }
    t.name = "list-\(side)"
    t.start()
  }

  private func produce(target: ListingTarget, side: Side, logger: Logger, progress: PairProgress?) {
    var token: String? = nil
    var pageGuard = ListingPageGuard(target: target)
    let startAfter = target.startAfter.map { target.prefix + $0 }
    repeat {
      let result: Result<[ListedObject], Error>
      do {
        let page = try target.client.listObjectsV2(
          bucket: target.bucket, prefix: target.listPrefix, continuationToken: token,
          startAfter: token == nil ? startAfter : nil, maxKeys: target.pageSize)
        let objects = try pageGuard.accept(page)
        token = page.isTruncated ? page.nextContinuationToken : nil
        // A shard's listing ends at its first key past the upper bound (`RangeTail`): no page after that one.
        if let through = target.interval.through, objects.contains(where: { KeyOrder.compare($0.key, through) > 0 }) {
          token = nil
        }
        logger.debug("Listed page \(pageGuard.pagesRead) of \(side) bucket \(target.bucket): \(objects.count) objects")
        result = .success(objects)
      } catch {
        result = .failure(error)
        token = nil
      }
      condition.lock()
      while pages.count >= prefetchPages && !closed { condition.wait() }
      if closed {
        condition.unlock()
        return
      }
      pages.append(result)
      // Counted under the lock, after the closed check: a listing closed for a restart adds nothing.
      if case .success(let objects) = result { progress?.listed(side, count: objects.count, finished: token == nil) }
      if token == nil { finished = true }
      condition.broadcast()
      condition.unlock()
    } while token != nil
  }

  public func next() throws -> ListedObject? {
    while index >= current.count {
      condition.lock()
      while pages.isEmpty && !finished && !closed { condition.wait() }
      if pages.isEmpty {
        condition.unlock()
        return nil
      }
      let page = pages.removeFirst()
      condition.broadcast()
      condition.unlock()
      current = try page.get()
      index = 0
    }
    defer { index += 1 }
    return current[index]
  }

  public func close() {
    condition.lock()
    closed = true
    condition.broadcast()
    condition.unlock()
  }
}

extension ListingPageGuard {
  init(target: ListingTarget) {
    self.init(endpoint: target.client.endpoint.description, bucket: target.bucket, prefix: target.prefix)
  }
}

extension String {
  /// Byte-wise prefix test (unlike `hasPrefix`, which compares characters).
  func hasPrefixBytes(_ prefix: String) -> Bool {
    utf8.starts(with: prefix.utf8)
  }
}
