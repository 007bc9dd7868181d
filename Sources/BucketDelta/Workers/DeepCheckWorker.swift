import Foundation
import Logging
import S3

#if canImport(Glibc)
  import Glibc
#endif

/// The worker process: reads its configuration and batches of keys on stdin, checks each key with
/// HeadObject (and GetObjectTagging) on both sides, and writes one result line per key on stdout.
/// It exits as soon as stdin ends, so a coordinator that dies leaves no worker behind.
public enum DeepCheckWorker {
  /// How a worker ends; the CLI maps it to an exit status.
  public enum End: Sendable {
    /// Its stdin closed (the coordinator is done or gone), or its stdout did.
    case done
    /// No valid configuration or an unreadable batch on stdin.
    case badInput
  }

  public static func run(
    logger makeLogger: (LogLevel) -> Logger, exitStatus: @escaping @Sendable (End) -> Int32
  ) -> Int32 {
    signal(SIGPIPE, SIG_IGN)
    signal(SIGINT, SIG_DFL)  // a worker holds nothing worth saving: Ctrl-C ends it at once
    signal(SIGTERM, SIG_DFL)
    let input = LineReader(fd: 0)
    guard let first = input.next(), let config = try? JSONDecoder().decode(WorkerConfig.self, from: Data(first))
    else {
      writeAll(fd: 2, Array("bucket-delta worker: no valid configuration on stdin\n".utf8))
      return exitStatus(.badInput)
    }
    let logger = makeLogger(config.logLevel)
    let transport = CurlTransport(maxConnectionsPerHost: config.numConnections)
    let factory = ClientFactory(
      endpoints: config.pairs.flatMap { [$0.source.endpoint, $0.destination.endpoint] },
      transport: transport, maxConcurrency: config.numConnections, rateShare: config.rateShare,
      maxAttempts: config.maxAttempts, requestTimeout: config.requestTimeout, logger: logger)
    /// Each check thread has its own clients, so their counters are the thread's own.
    @Sendable func threadClients() -> [(S3Client, S3Client)] {
      config.pairs.map { (factory.client($0.source.endpoint), factory.client($0.destination.endpoint)) }
    }

    let budget = ContentBudget(bytes: config.contentBudget)
    let tagging = TaggingCountPolicy(sample: config.taggingCountSample)
    let queue = WorkQueue()
    let outputLock = NSLock()
    for i in 0..<max(1, config.numConnections) {
      let t = Thread {
        let encoder = JSONEncoder()
        let pairClients = threadClients()
        while let item = queue.take() {
          var result: WorkResult
          if pairClients.indices.contains(item.pair) {
            let (src, dst) = pairClients[item.pair]
            let before = src.stats.counts + dst.stats.counts
            result = check(
              item, src: src, dst: dst, pair: config.pairs[item.pair], budget: budget, tagging: tagging)
            result.counts = src.stats.counts + dst.stats.counts - before
          } else {
            result = WorkResult(
              pair: item.pair, seq: item.seq, fields: [], source: nil, destination: nil,
              error: "unknown pair \(item.pair)")
          }
          guard let line = try? result.line(encoder: encoder) else { continue }
          outputLock.lock()
          let ok = writeAll(fd: 1, line + [0x0A])
          outputLock.unlock()
          if !ok { _exit(exitStatus(.done)) }  // the coordinator is gone
        }
      }
      t.name = "check-\(i)"
      t.start()
    }
    while let line = input.next() {
      guard let batch = try? WorkBatch.parse(line) else {
        writeAll(fd: 2, Array("bucket-delta worker: unreadable batch on stdin\n".utf8))
        _exit(exitStatus(.badInput))
      }
      queue.put(batch.items)
    }
    _exit(exitStatus(.done))  // stdin closed: the coordinator is done or gone
  }

  /// The headers a HEAD answer keeps: the deep fields' and what the verification ladder reads.
  static let keptHeaders =
    DeepField.headerNames + ContentFacts.headerNames + [TaggingCountPolicy.header, "last-modified"]

  static func check(
    _ item: WorkItem, src: S3Client, dst: S3Client, pair config: WorkerPair, budget: ContentBudget,
    tagging: TaggingCountPolicy = TaggingCountPolicy(sample: 1)
  ) -> WorkResult {
    var s: ObjectDetails?
    var d: ObjectDetails?
    var errors: [String] = []
    var failures: [KeyFailure] = []
    let tags = config.deep && config.compareTags && !config.ignore.fields.contains(.tags)
    let checksums = config.verify >= .checksum
    let sourceKey = config.source.prefix + item.key
    let destinationKey = config.destination.prefix + item.key
    func failed(_ side: Side, _ error: S3Error) {
      errors.append("\(side): \(error)")
      failures.append(KeyFailure(side: side.rawValue, operation: error.operation, kind: error.kindSummary))
    }
    /// The result of a key that could not be checked, with what each side's HEAD showed.
    func notChecked(_ s: ObjectDetails?, _ d: ObjectDetails?) -> WorkResult {
      WorkResult(
        pair: item.pair, seq: item.seq, fields: [], source: s, destination: d, error: errors.joined(separator: "; "),
        failures: failures)
    }
    do {
      s = try src.objectDetails(
        bucket: config.source.bucket, key: sourceKey, tags: false, headers: keptHeaders, checksums: checksums,
        versionID: item.sourceVersion)
    } catch { failed(.source, error) }
    do {
      d = try dst.objectDetails(
        bucket: config.destination.bucket, key: destinationKey, tags: false, headers: keptHeaders,
        checksums: checksums, versionID: item.destinationVersion)
    } catch { failed(.destination, error) }
    /// With a cutoff, a key gone (404; 412 to a GET that names the listed ETag) or rewritten since the
    /// listing changed after the cutoff: not judged. Asked after each step that can meet it (the HEADs,
    /// the tags, the content read): a key deleted between its HEAD and its GetObjectTagging is no error.
    func changedSinceListing(_ s: ObjectDetails?, _ d: ObjectDetails?) -> WorkResult? {
      guard let cutoff = config.cutoff else { return nil }
      let gone = failures.contains { $0.kind.hasPrefix("HTTP 404") || $0.kind.hasPrefix("HTTP 412") }
      let rewritten = [s, d].contains { $0?.headers["last-modified"].map(cutoff.isAfter) ?? false }
      guard gone || rewritten else { return nil }
      return WorkResult(
        pair: item.pair, seq: item.seq, fields: [], source: s, destination: d, error: nil,
        reason: gone ? "deleted after the listing: \(errors.joined(separator: "; "))" : "rewritten after the listing",
        changedAfterCutoff: true)
    }
    if let changed = changedSinceListing(s, d) { return changed }
    guard var s, var d else { return notChecked(s, d) }
    var tagFetchesSaved = 0
    if tags {
      // GetObjectTagging only where a HEAD reports tags, unless a side's header is not trusted (yet), or
      // the key is in the sample that checks the headers against the tags.
      let counts = (TaggingCountPolicy.count(s), TaggingCountPolicy.count(d))
      let trusted = (tagging.trusts(config.source.endpoint), tagging.trusts(config.destination.endpoint))
      let fetch =
        !(trusted.0 && trusted.1) || (counts.0 ?? 0) > 0 || (counts.1 ?? 0) > 0 || tagging.nextIsSample()
      if fetch {
        do {
          s.tags = try src.getObjectTagging(
            bucket: config.source.bucket, key: sourceKey, versionID: item.sourceVersion)
        } catch { failed(.source, error) }
        do {
          d.tags = try dst.getObjectTagging(
            bucket: config.destination.bucket, key: destinationKey, versionID: item.destinationVersion)
        } catch { failed(.destination, error) }
        if let changed = changedSinceListing(s, d) { return changed }
        guard failures.isEmpty else { return notChecked(s, d) }
        for (side, endpoint, count, details, trust) in [
          (Side.source, config.source.endpoint, counts.0, s, trusted.0),
          (.destination, config.destination.endpoint, counts.1, d, trusted.1),
        ] where !tagging.observe(endpoint, count: count, tags: details.tags, trusted: trust) {
          let mismatch = TaggingCountMismatch(
            endpoint: endpoint.name, key: item.key,
            detail:
              "the HEAD said \(count.map { "\($0) tags" } ?? "no tags (no header)"), GetObjectTagging returned \(details.tags?.count ?? 0)"
          )
          return WorkResult(
            pair: item.pair, seq: item.seq, fields: [], source: s, destination: d, error: mismatch.description,
            failures: [
              KeyFailure(side: side.rawValue, operation: "HeadObject", kind: KeyFailure.taggingCountMismatch)
            ])
        }
      } else {
        s.tags = [:]
        d.tags = [:]
        tagFetchesSaved = 2
      }
    }
    let fields = config.deep ? DeepCheck.compare(s, d, compareTags: config.compareTags, ignoring: config.ignore) : []
    var sc = ContentCheck.Copy(size: s.size ?? -1, etag: s.etag, facts: ContentFacts(headers: s.headers))
    var dc = ContentCheck.Copy(size: d.size ?? -1, etag: d.etag, facts: ContentFacts(headers: d.headers))
    var content = ContentCheck.decide(sc, dc, level: config.verify)
    if content.isUnverified, ContentCheck.layoutWouldDecide(sc, dc) {
      // Same part count on both sides: equal first parts make the layouts equal, and then differing
      // ETags (or composite checksums) prove different bytes.
      do {
        sc.facts?.firstPartSize = try src.firstPartSize(
          bucket: config.source.bucket, key: sourceKey, versionID: item.sourceVersion)
        dc.facts?.firstPartSize = try dst.firstPartSize(
          bucket: config.destination.bucket, key: destinationKey, versionID: item.destinationVersion)
        content = ContentCheck.decide(sc, dc, level: config.verify)
      } catch {
        // The layout stays unknown: the key stays unverified, which is the honest verdict.
      }
    }
    var bytesRead: Int64 = 0
    if config.verify == .content, sc.size == dc.size, content.isUnverified || config.contentScope == .all {
      do {
        // Part 1's size makes a multipart ETag recomputable from the bytes (one side read instead of two).
        if ETagShape(sc.etag).parts != nil, sc.facts?.firstPartSize == nil {
          sc.facts?.firstPartSize = try src.firstPartSize(
            bucket: config.source.bucket, key: sourceKey, versionID: item.sourceVersion)
        }
        if ETagShape(dc.etag).parts != nil, dc.facts?.firstPartSize == nil {
          dc.facts?.firstPartSize = try dst.firstPartSize(
            bucket: config.destination.bucket, key: destinationKey, versionID: item.destinationVersion)
        }
        let (read, n) = try ContentRead.decide(
          source: .init(client: src, bucket: config.source.bucket, key: sourceKey, copy: sc),
          destination: .init(client: dst, bucket: config.destination.bucket, key: destinationKey, copy: dc),
          reserve: budget.reserve)
        bytesRead = n
        if case .unverified(let why) = read, case .unverified(let before) = content {
          content = .unverified(reason: before + "; " + why)
        } else if !read.isUnverified {
          content = read
        }
      } catch {
        let atDestination =
          error.endpoint == dst.endpoint.description && error.bucket == config.destination.bucket
          && error.key == destinationKey
        failed(atDestination ? .destination : .source, error)
        if let changed = changedSinceListing(s, d) { return changed }
        return notChecked(s, d)
      }
    }
    let record = Difference.inBoth(
      ListedObject(key: item.key, etag: s.etag, size: s.size ?? -1, lastModified: ""),
      ListedObject(key: item.key, etag: d.etag, size: d.size ?? -1, lastModified: ""), fields: fields,
      content: content)
    // The details travel back only where the report shows them: most keys are identical, and
    // encoding and decoding both sides' headers for them cost more CPU than the checks.
    let show = record.status != .identical
    return WorkResult(
      pair: item.pair, seq: item.seq, fields: record.fields, source: show ? s : nil, destination: show ? d : nil,
      error: nil, verifiedBy: record.verifiedBy, reason: record.reason, bytesRead: bytesRead,
      tagFetchesSaved: tagFetchesSaved)
  }
}

/// A blocking FIFO of work items for the worker's check threads.
final class WorkQueue: @unchecked Sendable {
  // @unchecked: guarded by `condition`.
  private let condition = NSCondition()
  private var items: [WorkItem] = []
  private var head = 0

  func put(_ new: [WorkItem]) {
    condition.lock()
    items.append(contentsOf: new)
    condition.broadcast()
    condition.unlock()
  }

  func take() -> WorkItem? {
    condition.lock()
    defer { condition.unlock() }
    while head >= items.count { condition.wait() }
    let item = items[head]
    head += 1
    if head > 1024 {
      items.removeFirst(head)
      head = 0
    }
    return item
  }
}
