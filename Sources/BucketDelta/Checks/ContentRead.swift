import Foundation
import S3

/// How an object's bytes were cut when it was uploaded, as far as its ETag can be recomputed from them.
public enum PartLayout: Sendable, Equatable {
  /// A single-part upload: the ETag is the MD5 of the bytes.
  case single
  /// A multipart upload of `count` parts, each `size` bytes but the last: the ETag is the MD5 of the
  /// parts' MD5s, then `-count`.
  case parts(size: Int64, count: Int)

  /// The layout of `c`, or nil when its ETag cannot be recomputed: not an MD5 (SSE-KMS, SSE-C, other
  /// schemes), or parts not cut to one size (part 1's size does not give the ETag's part count), or
  /// part 1's size unknown.
  public static func of(_ c: ContentCheck.Copy) -> PartLayout? {
    guard c.facts?.etagNotMD5 == nil else { return nil }
    let shape = ETagShape(c.etag)
    guard let n = shape.parts else { return shape.looksLikeMD5 ? .single : nil }
    guard let p = c.facts?.firstPartSize, p > 0, c.size >= 0 else { return nil }
    let count = max(1, (c.size + p - 1) / p)
    guard count == Int64(n) else { return nil }
    return .parts(size: p, count: n)
  }
}

/// Recomputes an ETag over bytes streamed in order, for one layout. Holds one MD5 per part (16 bytes,
/// 160 KB at S3's 10,000 parts), never the bytes.
final class ETagComputer {
  let layout: PartLayout
  private let digest = Digest(.md5)
  private var partDigests: [UInt8] = []
  private var inPart: Int64 = 0

  init(_ layout: PartLayout) { self.layout = layout }

  func reset() {
    digest.reset()
    partDigests.removeAll(keepingCapacity: true)
    inPart = 0
  }

  func update(_ bytes: UnsafeRawBufferPointer) {
    guard case .parts(let size, _) = layout else {
      digest.update(bytes)
      return
    }
    var rest = bytes[...]
    while !rest.isEmpty {
      let take = Int(min(Int64(rest.count), size - inPart))
      digest.update(UnsafeRawBufferPointer(rebasing: rest.prefix(take)))
      inPart += Int64(take)
      rest = rest.dropFirst(take)
      if inPart == size {
        partDigests += digest.finish()
        inPart = 0
      }
    }
  }

  /// The ETag (unquoted) of the bytes streamed since the last reset.
  func finish() -> String {
    switch layout {
    case .single:
      return Crypto.hex(digest.finish())
    case .parts:
      if inPart > 0 || partDigests.isEmpty { partDigests += digest.finish() }
      let parts = partDigests.count / 16
      let whole = Digest(.md5)
      whole.update(partDigests)
      return Crypto.hex(whole.finish()) + "-\(parts)"
    }
  }
}

/// The top rung of the ladder: reads content, one side only wherever that proves it.
public enum ContentRead {
  /// What `decide` needs of one side.
  public struct Side {
    public var client: S3Client
    public var bucket: String
    public var key: String
    public var copy: ContentCheck.Copy

    public init(client: S3Client, bucket: String, key: String, copy: ContentCheck.Copy) {
      self.client = client
      self.bucket = bucket
      self.key = key
      self.copy = copy
    }
  }

  /// Reads what it takes to decide two copies of equal size; returns the verdict and the bytes read.
  /// - When both ETags can be recomputed (MD5 ETags, or multipart ones cut to one part size), reads the
  ///   source only and recomputes the destination's ETag from its bytes (`etag-recomputed`). Equal:
  ///   identical (a bad read cannot produce the other side's part MD5s). Not equal: before calling it
  ///   different, the source is read again and its own ETag recomputed, proving the read was whole and
  ///   right. (Recomputing both ETags in one pass cost two MD5s per byte: MD5 runs at 587 MB/s on this
  ///   machine, and 2 GB re-chunked took 7.7 s of CPU against 3.9 s with one; differences are rare.)
  /// - Otherwise (or when the source's own ETag does not come out) reads both and compares SHA-256s
  ///   (`content:sha256`).
  /// Every GET carries `If-Match` with the ETag the HEAD saw: an object replaced meanwhile is an error
  /// for the key, never a verdict on other bytes. `reserve(n)` asks the run's byte budget for `n` bytes
  /// before they are read; false leaves the key unverified.
  public static func decide(
    source: Side, destination: Side, reserve: (Int64) -> Bool
  ) throws(S3Error) -> (ContentVerdict, Int64) {
    var read: Int64 = 0
    let size = source.copy.size
    /// Streams `side`'s object through `update`, starting over (`reset`) when a GET is retried.
    func stream(
      _ side: Side, _ update: @escaping (UnsafeRawBufferPointer) -> Void, _ reset: @escaping () -> Void
    ) throws(S3Error) {
      read += try side.client.getObject(
        bucket: side.bucket, key: side.key, into: BodySink(consume: update, restart: reset),
        expectedSize: side.copy.size, ifMatch: side.copy.etag)
    }
    func etag(of side: Side, as layout: PartLayout) throws(S3Error) -> String {
      let computer = ETagComputer(layout)
      try stream(side, computer.update, computer.reset)
      return computer.finish()
    }
    if let own = PartLayout.of(source.copy), let other = PartLayout.of(destination.copy) {
      guard reserve(size) else { return (budgetSpent(), read) }
      if try etag(of: source, as: other) == destination.copy.etag { return (.identical(by: "etag-recomputed"), read) }
      guard reserve(size) else { return (budgetSpent(), read) }
      if try etag(of: source, as: own) == source.copy.etag {
        return (.different(by: "etag-recomputed", fields: [.content]), read)
      }
      // The source's parts were not cut to one size after all: only reading both can decide.
    }
    guard reserve(size + destination.copy.size) else { return (budgetSpent(), read) }
    var digests: [[UInt8]] = []
    for side in [source, destination] {
      let d = Digest(.sha256)
      try stream(side, d.update, d.reset)
      digests.append(d.finish())
    }
    return digests[0] == digests[1]
      ? (.identical(by: "content:sha256"), read) : (.different(by: "content:sha256", fields: [.content]), read)
  }

  private static func budgetSpent() -> ContentVerdict {
    .unverified(reason: "not read: the run's max_content_bytes is spent")
  }
}

/// A run's content-read budget within one process (`max_content_bytes`, shared out between the worker
/// processes).
public final class ContentBudget: @unchecked Sendable {
  // @unchecked: `left` is guarded by `lock`.
  private let lock = NSLock()
  private var left: Int64?

  /// nil: no cap.
  public init(bytes: Int64?) { left = bytes }

  /// Takes `n` bytes from the budget if it holds them.
  public func reserve(_ n: Int64) -> Bool {
    lock.withLock {
      guard let l = left else { return true }
      guard n <= l else { return false }
      left = l - n
      return true
    }
  }
}
