import Foundation
import Logging
import S3

/// Tuning of one pair's comparison.
public struct PairOptions: Sendable {
  public var reportFormat: ReportFormat = .text
  /// Log progress every this many objects.
  public var numObjectsReport: Int = Tuning().numObjectsReport
  /// Objects held in memory per sorted run when a listing has to be sorted.
  public var sortRunSize: Int = 200_000
  /// Where sort runs are spilled.
  public var temporaryDirectory: URL = FileManager.default.temporaryDirectory
  /// Deep check: HeadObject/GetObjectTagging through the worker pool given to `run`.
  public var deep = false
  /// Keys held between the merge and the report (`--max_queue_size`).
  public var maxQueueSize = Tuning().maxQueueSize
  /// Where the pair's checkpoint is kept (written every `numObjectsReport` objects and on SIGINT/SIGTERM).
  public var checkpoint: CheckpointStore?
  /// Continue from the checkpoint instead of starting over.
  public var resume = false
  /// Live counters for the progress display.
  public var progress: PairProgress?
  /// Key ranges listed at once per side (`range_listers`); 1 lists each side as one stream.
  public var rangeListers = Tuning().rangeListers
  /// Sides to list in full and sorted from the start (a shard whose sibling found the server out of order).
  public var sortedFromStart: Set<Side> = []
  /// How far content is proven (`verify`); nil: the check depth's default.
  public var verify: VerifyLevel?
  /// List identical keys in the report too (`report_matches`).
  public var reportMatches = false
  /// Which keys `verify: content` reads.
  public var contentScope = ContentScope.unverified
  /// Objects changed after this are not judged (`as_of`), resolved against `runStart` (or, on a resume,
  /// the cutoff the checkpoint recorded, so that every key of the pair is judged against one instant).
  public var asOf: AsOf?
  /// When the run started (for `as_of: run_start` and durations).
  public var runStart = Date()
  /// List keys changed after the cutoff in the report (`report_skipped`).
  public var reportSkipped = false
  /// Which keys are compared at all (`include`/`exclude`/`filters`).
  public var filter = KeyFilter.none
  /// Where the first records of the report are kept for the sign-off page (with the pair's index).
  public var recordSample: (RecordSample, Int)?
  /// Compare version histories (`versions`), with or without delete markers, extra destination versions
  /// reported or allowed.
  public var versions = false
  public var compareDeleteMarkers = true
  public var extraDestinationVersions = ExtraVersions.report
  /// Whether keys go through the worker pool: every key in both buckets for a deep check; for a shallow
  /// one, the keys the listings leave unverified when `verify` goes beyond ETags.
  var usesPool: Bool { deep || level > .etag }
  var level: VerifyLevel { verify ?? .default(deep: deep) }
  public init() {}
}

/// Counters of one pair's comparison.
public struct PairResult: Sendable, Equatable {
  public var objectsProcessed = 0
  public var onlyInSource = 0
  public var onlyInDestination = 0
  public var different = 0
  /// Keys proven identical.
  public var identical = 0
  /// Keys whose sizes are equal but whose content nothing at the requested level could decide.
  public var unverified = 0
  /// Keys decided per method (`listing`, `size`, `etag`, `checksum:CRC32`, ...).
  public var verifiedBy: [String: Int] = [:]
  /// Bytes read from the buckets to compare content.
  public var bytesRead: Int64 = 0
  /// GetObjectTagging requests the HEADs made unnecessary.
  public var tagFetchesSaved = 0
  /// Keys not judged because a side changed after the as-of cutoff.
  public var changedAfterCutoff = 0
  /// Keys left out by the filters.
  public var excluded = 0
  /// The cutoff the pair was judged against.
  public var cutoff: Cutoff?
  /// Each side's versioning state (`GetBucketVersioning`), where the server told it.
  public var versioning: [Side: VersioningStatus] = [:]
  /// `versions: true`: reported versions per status, and the versions compared on both sides.
  public var versionStatuses: [String: Int] = [:]
  public var versionsCompared = 0
  /// Keys the deep check could not check (they are reported, and make the run fail).
  public var errors = 0
  /// Deep-check workers restarted after they died.
  public var workerRestarts = 0
  /// How many times this pair has been resumed from a checkpoint.
  public var resumes = 0
  /// Sides whose listing was not in byte order and had to be sorted.
  public var sortedSides: [Side] = []
  /// Sides listed as one stream although range listers were asked for (their ranges did not join up).
  public var singleStreamSides: [Side] = []
  /// Requests made by deep-check workers for this pair, retries and throttling answers among them.
  public var workerCounts = RequestCounts.zero
  /// What a person should see that did not change the verdict (a prefix matching longer names).
  public var warnings: [String] = []
  /// A shard's edges per side listed in the server's order (`merge` checks that neighbours join up).
  public var shardEdges: [String: ShardEdges] = [:]

  public var objectsWithDifferences: Int { onlyInSource + onlyInDestination + different + errors }
  public init() {}

  /// The counters a resumed comparison starts from: those of its checkpoint (zero without one).
  init(restoring base: Checkpoint?) {
    guard let base else { return }
    objectsProcessed = base.objectsProcessed
    onlyInSource = base.onlyInSource
    onlyInDestination = base.onlyInDestination
    different = base.different
    errors = base.errors
    identical = base.identical ?? 0
    unverified = base.unverified ?? 0
    verifiedBy = base.verifiedBy ?? [:]
    bytesRead = base.bytesRead ?? 0
    tagFetchesSaved = base.tagFetchesSaved ?? 0
    changedAfterCutoff = base.changedAfterCutoff ?? 0
    excluded = base.excluded ?? 0
    versionStatuses = base.versionStatuses ?? [:]
    versionsCompared = base.versionsCompared ?? 0
  }
}

extension Checkpoint {
  /// Records `r`'s counters, the ones `PairResult(restoring:)` reads back (one list for both directions of
  /// every comparison mode; `objectsProcessed` is the caller's, which may stop short of a key in flight).
  mutating func record(_ r: PairResult) {
    onlyInSource = r.onlyInSource
    onlyInDestination = r.onlyInDestination
    different = r.different
    errors = r.errors
    identical = r.identical
    unverified = r.unverified
    verifiedBy = r.verifiedBy
    bytesRead = r.bytesRead
    tagFetchesSaved = r.tagFetchesSaved
    changedAfterCutoff = r.changedAfterCutoff
    excluded = r.excluded
    versionStatuses = r.versionStatuses
    versionsCompared = r.versionsCompared
  }
}

/// Compares one bucket pair: lists both sides, merge-joins, checks, writes the report.
public struct PairComparison {
  public var source: ListingTarget
  public var destination: ListingTarget
  public var reportPath: String
  public var options: PairOptions
  public var logger: Logger
  /// When the whole run started (for "total elapsed").
  public var startTime: Date

  public init(
    source: ListingTarget, destination: ListingTarget, reportPath: String, options: PairOptions,
    logger: Logger, startTime: Date = Date()
  ) {
    self.source = source
    self.destination = destination
    self.reportPath = reportPath
    self.options = options
    self.logger = logger
    self.startTime = startTime
  }

  /// Runs the comparison. A listing found out of byte order is listed again and sorted in
  /// bounded memory, and the report is rewritten from the start; the log says so.
  /// - Parameters:
  ///   - pool: the run's worker pool (required for deep checks), with `pairIndex` this pair's index
  ///     in its configuration and `router` where its results arrive.
  public func run(pool: WorkerPool? = nil, pairIndex: Int = 0, router: ResultRouter? = nil) throws -> PairResult {
    let inventorySides = Set(
      [(Side.source, source), (.destination, destination)].filter { $0.1.inventory != nil }.map(\.0))
    var strategy = ListingStrategy(
      rangeListers: options.rangeListers, sorted: options.sortedFromStart, inventory: inventorySides)
    var cutoff = options.asOf.map { Cutoff(epochSeconds: $0.cutoff(runStart: options.runStart)) }
    let sink = ResultSink()
    if options.usesPool {
      guard pool != nil, let router else {
        throw WorkerError(
          options.deep ? "a deep check needs the worker pool" : "verify: \(options.level) needs the worker pool")
      }
      router.register(pair: pairIndex, sink: sink)
    }
    defer { router?.unregister(pair: pairIndex) }
    let pool = options.usesPool ? pool : nil
    var base: Checkpoint?
    if let store = options.checkpoint {
      if options.resume {
        guard var cp = try store.load() else {
          throw CheckpointError(
            "--resume: there is no checkpoint to resume at \(store.path) (the pair finished, or never started); run without --resume"
          )
        }
        cp.resumes += 1
        logger.info(
          "Resuming from checkpoint \(store.path) after key \(cp.lastKey.map { "'\($0)'" } ?? "(none)") (\(cp.objectsProcessed) objects processed before, \(cp.different + cp.onlyInSource + cp.onlyInDestination + cp.errors) with differences)"
        )
        strategy = ListingStrategy(
          rangeListers: options.rangeListers, resuming: cp, sorted: options.sortedFromStart, inventory: inventorySides)
        base = cp
        if let c = cp.cutoff { cutoff = c }
      } else {
        store.deleteAll()
      }
    }
    var firstSeq = 0
    let prefixWarnings = PrefixWarnings()
    let versioning = Self.versioning(source, destination, versionsMode: options.versions, logger: logger)
    while true {
      do {
        if let cutoff { logger.info("As-of cutoff: \(cutoff.text) (objects changed after it are not judged)") }
        var result =
          options.versions
          ? try runVersions(
            strategy: strategy, base: base, cutoff: cutoff, pool: pool, pairIndex: pairIndex, sink: sink,
            firstSeq: &firstSeq)
          : try runOnce(
            strategy: strategy, base: base, pool: pool, pairIndex: pairIndex, sink: sink,
            prefixWarnings: prefixWarnings, cutoff: cutoff,
            sourceVersioned: (versioning[.source] ?? .unversioned) != .unversioned, firstSeq: &firstSeq)
        result.cutoff = cutoff
        result.versioning = versioning
        for side in Side.inOrder(Set(versioning.keys)) where versioning[side] != .unversioned && !options.versions {
          result.warnings.append(
            "the \(side) bucket has versioning \(versioning[side]!.rawValue): only the latest versions were compared")
        }
        result.sortedSides = Side.inOrder(strategy.sorted)
        result.singleStreamSides = Side.inOrder(strategy.singleStream)
        result.workerRestarts = pool?.restartCount ?? 0
        result.resumes = base?.resumes ?? 0
        result.workerCounts = sink.requestCounts
        options.checkpoint?.delete()
        return result
      } catch let e as ListingOrderError {
        guard var warning = strategy.fallBack(after: e) else { throw e }
        // A version listing has no key ranges: out of order goes straight to sorting.
        if options.versions, strategy.mode(e.side) != .sorted, let w = strategy.fallBack(after: e) { warning = w }
        logger.warning("\(warning)")
        options.progress?.restartListing()
      }
    }
  }

  private func runOnce(
    strategy: ListingStrategy, base: Checkpoint?, pool: WorkerPool?,
    pairIndex: Int, sink: ResultSink, prefixWarnings: PrefixWarnings, cutoff: Cutoff?, sourceVersioned: Bool,
    firstSeq: inout Int
  ) throws -> PairResult {
    let report = try ReportFile(path: reportPath, keepingFirst: base?.reportBytes)
    options.recordSample.map { $0.0.reset(pair: $0.1) }
    // A single stream restarts from the beginning on resume: a server's own order decides what its
    // start-after skips, and servers that list out of byte order would skip undecided keys. Key ranges
    // resume after the last range boundary at or below the watermark whose hand-off was verified (the
    // first key after it must be the same again). Keys up to the watermark are dropped after the order guard.
    func resumePoint(_ side: Side) -> RangeHandOff? {
      // A shard lists from its lower bound again: `merge` needs the first key after it.
      guard source.interval.isAll else { return nil }
      guard case .partitioned = strategy.mode(side), let h = base?.rangeHandOffs?[side.rawValue] else { return nil }
      logger.info(
        "Listing the \(side) bucket from after '\(h.after)', a key-range boundary the checkpoint verified (the first key after it must still be \(h.first.map { "'\($0)'" } ?? "none"))"
      )
      return h
    }
    var srcListing = try strategy.open(
      .source, target: source, resumeFrom: resumePoint(.source), options: options, logger: logger)
    defer { srcListing.close() }
    var dstListing = try strategy.open(
      .destination, target: destination, resumeFrom: resumePoint(.destination), options: options, logger: logger)
    defer { dstListing.close() }
    srcListing.watchPrefix(source, side: .source, warnings: prefixWarnings, logger: logger)
    dstListing.watchPrefix(destination, side: .destination, warnings: prefixWarnings, logger: logger)
    let src: ObjectStream = base?.lastKey.map { SkipThrough(srcListing.stream, watermark: $0) } ?? srcListing.stream
    let dst: ObjectStream = base?.lastKey.map { SkipThrough(dstListing.stream, watermark: $0) } ?? dstListing.stream
    logger.info("Starting bucket comparison")
    logger.info("Mode: latest objects only")

    let merge = MergeJoin(source: src, destination: dst)
    let window = ReorderWindow(firstSeq: firstSeq)
    sink.window = window
    let capacity = max(1, options.usesPool ? options.maxQueueSize : 1)
    let failure: () -> Error? = {
      if interruptSignal != 0 { return Interrupted(signal: interruptSignal) }
      return pool?.failure
    }
    var result = PairResult(restoring: base)
    var ruleHits = Array(repeating: 0, count: options.filter.rules.count)
    var lastReport = Date()
    var watermark = base?.lastKey

    /// The checkpoint vouching for every key through `mark` (`processed` of them) and the report as
    /// written so far.
    func checkpoint(_ store: CheckpointStore, through mark: String?, processed: Int) -> Checkpoint {
      var cp = Checkpoint(
        fingerprint: store.fingerprint, lastKey: mark, reportBytes: report.length, objectsProcessed: processed,
        onlyInSource: 0, onlyInDestination: 0, different: 0, errors: 0, cutoff: cutoff,
        sortedSides: Side.inOrder(strategy.sorted).map(\.rawValue),
        singleStreamSides: Side.inOrder(strategy.singleStream).map(\.rawValue),
        rangeHandOffs: handOffs(upTo: mark),
        resumes: base?.resumes ?? 0, updatedAt: isoTimestamp(Date()), pid: getpid())
      cp.record(result)
      return cp
    }

    func saveCheckpoint() throws {
      guard let store = options.checkpoint else { return }
      try report.sync()
      try store.save(checkpoint(store, through: watermark, processed: result.objectsProcessed))
    }
    var tally = FailureTally()
    /// The checkpoint just before the first key refused with AccessDenied: a pair stopped for a missing
    /// permission resumes from there once the permission is granted.
    var beforeFirstDenied: Checkpoint?

    /// Per side, where a resume may start listing (only for sides listed as key ranges).
    func handOffs(upTo watermark: String?) -> [String: RangeHandOff]? {
      guard let watermark else { return nil }
      var h: [String: RangeHandOff] = [:]
      for (side, listing) in [(Side.source, srcListing), (.destination, dstListing)] {
        if let p = listing.partitioned?.handOff(atOrBefore: watermark) {
          h[side.rawValue] = p
        } else if let old = base?.rangeHandOffs?[side.rawValue], listing.partitioned != nil {
          h[side.rawValue] = old
        }
      }
      return h.isEmpty ? nil : h
    }

    func stopIfInterrupted() throws {
      if interruptSignal != 0 {
        try saveCheckpoint()
        throw Interrupted(signal: interruptSignal)
      }
    }

    func write(_ ready: [(MergeEvent, Difference)]) throws {
      for (event, outcome) in ready {
        if outcome.failures.contains(where: \.isTaggingCountMismatch) {
          // Verdicts before this key that trusted the header may be wrong too: a resume with
          // tagging_count_header: ignore re-checks from the last checkpoint saved, which stays as it is.
          throw TaggingCountStop(description: outcome.error ?? "x-amz-tagging-count mismatch")
        }
        if outcome.status == .excluded {
          // Not compared: counted, never reported, and not an object processed.
          result.excluded += 1
          watermark = event.key
          continue
        }
        result.objectsProcessed += 1
        let previousWatermark = watermark
        watermark = event.key
        let d = outcome
        if let by = d.verifiedBy { result.verifiedBy[by, default: 0] += 1 }
        result.bytesRead += d.bytesRead
        result.tagFetchesSaved += d.tagFetchesSaved
        var stop: KeyFailure?
        switch d.status {
        case .identical: result.identical += 1
        case .onlyInSource: result.onlyInSource += 1
        case .onlyInDestination: result.onlyInDestination += 1
        case .different: result.different += 1
        case .unverified: result.unverified += 1
        case .changedAfterCutoff: result.changedAfterCutoff += 1
        case .excluded, .versionMissingInDestination, .versionOnlyInDestination, .versionDifferent,
          .deleteMarkerMissing, .deleteMarkerExtra:
          break
        case .error:
          if !tally.anyDenied, d.failures.contains(where: \.isAccessDenied), let store = options.checkpoint {
            // before this key is counted and its record written
            beforeFirstDenied = checkpoint(store, through: previousWatermark, processed: result.objectsProcessed - 1)
          }
          result.errors += 1
          stop = tally.record(d, logger: logger)
        }
        let reported: Bool
        switch d.status {
        case .identical: reported = options.reportMatches
        case .changedAfterCutoff: reported = options.reportSkipped
        default: reported = true
        }
        if reported {
          try report.write(
            options.reportFormat.line(
              for: d, sourceBucket: source.bucket, destinationBucket: destination.bucket, showTimes: cutoff != nil))
          options.recordSample.map { $0.0.add(pair: $0.1, d) }
        }
        if let stop {
          tally.logCounts(logger: logger)
          if let store = options.checkpoint, let cp = beforeFirstDenied {
            try report.sync()
            try store.save(cp)
          }
          let target = stop.side == Side.source.rawValue ? source : destination
          throw PermissionStop(
            failure: stop, bucket: target.bucket, endpoint: target.client.endpoint.description,
            firstKey: tally.firstKey(stop) ?? d.key, count: FailureTally.deniedLimit)
        }
        options.progress?.compared(
          total: result.objectsProcessed, differences: result.objectsWithDifferences, bytesRead: result.bytesRead)
        if result.objectsProcessed % options.numObjectsReport == 0 {
          let now = Date()
          logger.info(
            "Processed \(result.objectsProcessed) objects in \(Self.seconds(now.timeIntervalSince(lastReport))) seconds, total elapsed \(Self.seconds(now.timeIntervalSince(startTime))) seconds"
          )
          lastReport = now
          try saveCheckpoint()
          logger.debug("Checkpoint saved at key \(event.key)")
        }
      }
    }

    try saveCheckpoint()  // from the first moment on, --resume has something to resume
    while let event = try merge.next() {
      let seq = firstSeq
      firstSeq += 1
      var listed = ShallowCheck.evaluate(event)
      if !options.filter.isEmpty {
        let (included, rule) = options.filter.decide(event.key)
        if let rule { ruleHits[rule] += 1 }
        if !included {
          listed = Difference(key: event.key, status: .excluded, fields: [], source: nil, destination: nil)
        }
      }
      if let cutoff, listed.status != .excluded,
        let why = Self.changedAfter(cutoff, event)
          ?? (sourceVersioned && listed.status == .onlyInDestination ? deletedAfter(cutoff, event.key) : nil)
      {
        listed = Difference(
          key: event.key, status: .changedAfterCutoff, fields: [], source: listed.source,
          destination: listed.destination, reason: why)
      }
      // A deep check sends every key in both buckets to the workers; a shallow one only those the
      // listings leave unverified, when HEADs may decide them, or every one of equal size when all
      // content is to be read.
      let readAll = options.level == .content && options.contentScope == .all && listed.verifiedBy != "size"
      let judged = listed.status != .excluded && listed.status != .changedAfterCutoff
      if let pool, judged, case .inBoth = event, options.deep || listed.status == .unverified || readAll {
        window.add(seq: seq, event: event, outcome: nil)
        pool.submit(WorkItem(pair: pairIndex, seq: seq, key: event.key))
      } else {
        window.add(seq: seq, event: event, outcome: listed)
      }
      do {
        try write(try window.take(untilBelow: capacity, failure: failure))
      } catch is Interrupted {
        try stopIfInterrupted()
      }
      try stopIfInterrupted()
    }
    do {
      try write(try window.take(untilBelow: 1, failure: failure))
    } catch is Interrupted {
      try stopIfInterrupted()
    }
    tally.logCounts(logger: logger)
    result.warnings = prefixWarnings.all
    if base == nil {
      // (After a resume the rules' matches before the checkpoint are not known.)
      for (rule, hits) in zip(options.filter.rules, ruleHits) where hits == 0 {
        let w =
          "filter rule '\(rule)' matched no key of the pair: check the pattern (it is matched against keys relative to the prefix)"
        logger.warning("\(w)")
        result.warnings.append(w)
      }
    }
    if cutoff != nil {
      for (side, target) in [(Side.source, source), (.destination, destination)] {
        if let w = Self.clockWarning(target, side: side) {
          logger.warning("\(w)")
          result.warnings.append(w)
        }
      }
    }
    try report.close()
    for (side, listing) in [(Side.source, srcListing), (.destination, dstListing)] {
      if let edges = try listing.shardEdges() { result.shardEdges[side.rawValue] = edges }
      if let p = listing.partitioned {
        logger.info("The \(side) bucket was listed in \(p.splits + 1) key ranges")
      }
    }
    return result
  }

  static func seconds(_ t: TimeInterval) -> String { String(format: "%.2f", t) }

  /// Each side's versioning state; a side whose server does not tell (no permission, not implemented) is
  /// left out. A versioned side is said once in the log: a latest-only check of it is a choice to see.
  static func versioning(_ source: ListingTarget, _ destination: ListingTarget, versionsMode: Bool, logger: Logger)
    -> [Side: VersioningStatus]
  {
    var out: [Side: VersioningStatus] = [:]
    for (side, target) in [(Side.source, source), (.destination, destination)] where target.inventory == nil {
      do {
        let status = try target.client.bucketVersioning(bucket: target.bucket)
        out[side] = status
        if status != .unversioned && !versionsMode {
          logger.warning(
            "The \(side) bucket \(target.bucket) has versioning \(status.rawValue): only the latest versions are compared"
          )
        }
      } catch {
        logger.debug("Versioning of the \(side) bucket \(target.bucket) not known: \(error)")
      }
    }
    return out
  }

  /// In a versioned source, a key found only in the destination whose newest source entry is a delete
  /// marker made after `cutoff` was deleted after it, not never copied (one ListObjectVersions request).
  private func deletedAfter(_ cutoff: Cutoff, _ key: String) -> String? {
    let page: ListObjectVersionsPage
    do {
      page = try source.client.listObjectVersions(bucket: source.bucket, prefix: source.prefix + key, maxKeys: 1)
    } catch {
      // Then the key stays only in the destination: the verdict without the lookup.
      logger.warning("Could not look up the versions of '\(key)' in the source bucket: \(error)")
      return nil
    }
    // Newest first: a delete marker made after the cutoff, or a version made after it (deleted, then
    // written again after the listing passed), shows a change after the cutoff.
    guard let newest = page.versions.first, newest.key == source.prefix + key, cutoff.isAfter(newest.lastModified)
    else { return nil }
    return newest.isDeleteMarker
      ? "source deleted after the cutoff (delete marker of \(newest.lastModified))"
      : "source deleted and written again after the cutoff (version of \(newest.lastModified))"
  }

  /// Why a key is not judged against `cutoff` (a side's LastModified after it), or nil.
  static func changedAfter(_ cutoff: Cutoff, _ event: MergeEvent) -> String? {
    let sides: [(String, ListedObject?)]
    switch event {
    case .inBoth(let s, let d): sides = [("source", s), ("destination", d)]
    case .onlyInSource(let s): sides = [("source", s)]
    case .onlyInDestination(let d): sides = [("destination", d)]
    }
    let after = sides.filter { $0.1.map { cutoff.isAfter($0.lastModified) } ?? false }.map(\.0)
    return after.isEmpty ? nil : "\(after.joined(separator: " and ")) modified after the cutoff"
  }

  /// A warning when the endpoint's clock (the `Date` of its first answer) is more than a minute off this
  /// machine's: the cutoff is compared with the server's timestamps.
  static func clockWarning(_ target: ListingTarget, side: Side) -> String? {
    guard let (server, local) = target.client.stats.firstDate, let s = parseHTTPDate(server) else { return nil }
    let skew = Double(s) - local.timeIntervalSince1970
    guard abs(skew) > 60 else { return nil }
    return
      "the clock of the \(side) endpoint \(target.client.endpoint) is \(Int(abs(skew).rounded())) s \(skew > 0 ? "ahead of" : "behind") this machine's (Date: \(server)): the as-of cutoff is compared with the server's timestamps"
  }
}

/// Routes worker results to the current attempt's window.
final class ResultSink: @unchecked Sendable {
  // @unchecked: `window` is guarded by `lock`.
  private let lock = NSLock()
  private var _window: ReorderWindow?
  private var counts = RequestCounts.zero
  var window: ReorderWindow? {
    get { lock.withLock { _window } }
    set { lock.withLock { _window = newValue } }
  }
  /// Requests, retries and throttling answers the workers reported.
  var requestCounts: RequestCounts { lock.withLock { counts } }
  func deliver(_ r: WorkResult) {
    if let c = r.counts { lock.withLock { counts = counts + c } }
    window?.complete(r)
  }
}

/// Routes worker results to the pair they belong to.
public final class ResultRouter: @unchecked Sendable {
  // @unchecked: `sinks` is guarded by `lock`.
  private let lock = NSLock()
  private var sinks: [Int: ResultSink] = [:]
  public init() {}
  func register(pair: Int, sink: ResultSink) { lock.withLock { sinks[pair] = sink } }
  func unregister(pair: Int) { lock.withLock { sinks[pair] = nil } }
  public func deliver(_ r: WorkResult) { lock.withLock { sinks[r.pair] }?.deliver(r) }
  /// Wakes every pair waiting for results, to notice a failure or an interrupt.
  public func wakeAll() {
    for sink in lock.withLock({ Array(sinks.values) }) { sink.window?.wake() }
  }
}

/// Drops the keys up to and including `watermark` (already decided before a resume).
final class SkipThrough: ObjectStream {
  private let base: ObjectStream
  private let watermark: String
  private var passed = false
  init(_ base: ObjectStream, watermark: String) {
    self.base = base
    self.watermark = watermark
  }
  func next() throws -> ListedObject? {
    while let o = try base.next() {
      if passed || KeyOrder.compare(o.key, watermark) > 0 {
        passed = true
        return o
      }
    }
    return nil
  }
  func close() { base.close() }
}

/// A trusted `x-amz-tagging-count` disagreed with an object's tags: the pair stops (exit 2); its last
/// checkpoint stays, for a resume with `tagging_count_header: ignore`.
public struct TaggingCountStop: Error, CustomStringConvertible {
  public var description: String
}
