/// What every ListObjectsV2 stream checks of its pages: keys under the prefix (which is removed), a
/// continuation token never repeated, and no page listing the same keys as an earlier one (a server that
/// serves the same page again under new tokens would otherwise list forever; one hash per page, 8 bytes,
/// 40 KB at 5M keys). A page that fails a check is an `S3Error` of kind `.protocolViolation`.
public struct ListingPageGuard: Sendable {
  public let endpoint: String
  public let bucket: String
  public let prefix: String
  private var seenTokens = Set<String>()
  private var seenPages = Set<Int>()
  public private(set) var pagesRead = 0

  public init(endpoint: String, bucket: String, prefix: String) {
    self.endpoint = endpoint
    self.bucket = bucket
    self.prefix = prefix
  }

  /// The page's objects with keys relative to the prefix, or an error when the page breaks the protocol.
  public mutating func accept(_ page: ListObjectsV2Page) throws -> [ListedObject] {
    pagesRead += 1
    let objects = try stripPrefix(page.objects)
    if page.isTruncated, let t = page.nextContinuationToken, !seenTokens.insert(t).inserted {
      throw violation("continuation token repeated after \(pagesRead) pages")
    }
    if !objects.isEmpty {
      var h = Hasher()
      for o in objects { h.combine(o.key) }
      if !seenPages.insert(h.finalize()).inserted {
        throw violation(
          "page \(pagesRead) lists the same keys as an earlier page (the listing loops; first key '\(objects[0].key)')")
      }
    }
    return objects
  }

  private func violation(_ message: String) -> S3Error {
    S3Error(kind: .protocolViolation(message), operation: "ListObjectsV2", endpoint: endpoint, bucket: bucket)
  }

  /// Keys relative to the prefix; a key outside it is a protocol violation.
  public func stripPrefix(_ objects: [ListedObject]) throws -> [ListedObject] {
    guard !prefix.isEmpty else { return objects }
    var objects = objects
    for i in objects.indices { objects[i].key = try relative(objects[i].key, what: "key") }
    return objects
  }

  /// `name` (a key or a common prefix) without the prefix; one outside it is a protocol violation.
  public func relative(_ name: String, what: String) throws -> String {
    guard !prefix.isEmpty else { return name }
    guard name.utf8.starts(with: prefix.utf8) else {
      throw violation("listing with prefix '\(prefix)' returned \(what) '\(name)'")
    }
    return String(decoding: name.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
  }
}
