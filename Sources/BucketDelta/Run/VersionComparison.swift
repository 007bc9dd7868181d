import Foundation
import Logging
import S3

/// `versions: true`: both sides listed with ListObjectVersions, key histories merge-joined and aligned
/// (`VersionAlignment`), one record per version that differs. A deep check sends every aligned version
/// pair to the worker pool (HeadObject and GetObjectTagging with `versionId`). Records go through the
/// reorder window in order; the checkpoint watermark is a key (a key's versions are judged together).
extension PairComparison {
  /// What one window entry is, in seq order beside the window.
  private enum Entry {
    /// A record of a version (decided from the listings, or by a worker for `source`/`destination`).
    case version(source: VersionRef?, destination: VersionRef?)
    /// The end of a key: its histories' lengths.
    case keyEnd(key: String, sourceVersions: Int, destinationVersions: Int)
    /// A key left out by the filters.
    case excluded(key: String)
  }

  /// What one key's records said, for its key-level verdict.
  private struct KeyVerdict {
    var different = false
    var unverified = false
    var error = false
    // Counted into the pair's result at the key's end, so that a checkpoint (at a key's end) never holds
    // half a key.
    var statuses: [String: Int] = [:]
    var verifiedBy: [String: Int] = [:]
    var changedAfterCutoff = 0
    var tagFetchesSaved = 0
  }

  func runVersions(
    strategy: ListingStrategy, base: Checkpoint?, cutoff: Cutoff?, pool: WorkerPool?, pairIndex: Int,
    sink: ResultSink, firstSeq: inout Int
  ) throws -> PairResult {
    let report = try ReportFile(path: reportPath, keepingFirst: base?.reportBytes)
    options.recordSample.map { $0.0.reset(pair: $0.1) }
    var stoppers: [ObjectStream] = []
    defer { for s in stoppers { s.close() } }
    func open(_ side: Side, _ target: ListingTarget) throws -> KeyHistoryStream {
      let listing = VersionEntryListing(target: target, side: side, logger: logger)
      stoppers.append(listing)
      logger.info("Listing all versions of the \(side) bucket: \(target.bucket)")
      guard strategy.mode(side) == .sorted else { return KeyHistoryStream(listing) }
      logger.info("Versions of the \(side) bucket sorted by UTF-8 bytes (bounded memory, spilled to disk)")
      let dir = options.temporaryDirectory.appendingPathComponent(
        "bucket-delta-sort-\(getpid())-\(side)-\(UUID().uuidString)")
      let sorted = try ExternalSorter(runSize: options.sortRunSize, directory: dir).sorted(listing)
      stoppers.append(sorted)
      return KeyHistoryStream(sorted)
    }
    let src = try open(.source, source)
    let dst = try open(.destination, destination)
    logger.info("Starting bucket comparison")
    logger.info(
      "Mode: version histories (delete markers \(options.compareDeleteMarkers ? "compared" : "left out"), extra destination versions \(options.extraDestinationVersions == .allow ? "allowed" : "reported")\(pool != nil ? ", every version pair deep-checked" : ""))"
    )
    var result = PairResult(restoring: base)
    var watermark = base?.lastKey
    // The report's length at the watermark: a key's records are kept only with its end (a resume redoes
    // the key whose records were being written).
    var reportBytesAtWatermark = base?.reportBytes ?? 0
    var lastReport = Date()
    func saveCheckpoint() throws {
      guard let store = options.checkpoint else { return }
      try report.sync()
      var cp = Checkpoint(
        fingerprint: store.fingerprint, lastKey: watermark, reportBytes: reportBytesAtWatermark,
        objectsProcessed: result.objectsProcessed, onlyInSource: 0, onlyInDestination: 0, different: 0, errors: 0,
        cutoff: cutoff, sortedSides: Side.inOrder(strategy.sorted).map(\.rawValue), resumes: base?.resumes ?? 0,
        updatedAt: isoTimestamp(Date()), pid: getpid())
      cp.record(result)
      try store.save(cp)
    }
    func nextAfterWatermark(_ stream: KeyHistoryStream) throws -> KeyHistory? {
      while let h = try stream.next() {
        if let w = base?.lastKey, KeyOrder.compare(h.key, w) <= 0 { continue }
        return h
      }
      return nil
    }

    let window = ReorderWindow(firstSeq: firstSeq)
    sink.window = window
    let capacity = max(1, pool != nil ? options.maxQueueSize : 1)
    let failure: () -> Error? = {
      if interruptSignal != 0 { return Interrupted(signal: interruptSignal) }
      return pool?.failure
    }
    var pending: [Entry] = []
    var pendingHead = 0
    var verdict = KeyVerdict()

    func write(_ ready: [(MergeEvent, Difference)]) throws {
      for (_, outcome) in ready {
        let entry = pending[pendingHead]
        pendingHead += 1
        if pendingHead > 1024 {
          pending.removeFirst(pendingHead)
          pendingHead = 0
        }
        switch entry {
        case .excluded(let key):
          result.excluded += 1
          watermark = key
          reportBytesAtWatermark = report.length
        case .keyEnd(let key, let sv, let dv):
          result.objectsProcessed += 1
          result.versionsCompared += sv + dv
          if verdict.error {
            result.errors += 1
          } else if verdict.different {
            if sv == 0 {
              result.onlyInDestination += 1
            } else if dv == 0 {
              result.onlyInSource += 1
            } else {
              result.different += 1
            }
          } else if verdict.unverified {
            result.unverified += 1
          } else {
            result.identical += 1
          }
          result.versionStatuses.merge(verdict.statuses, uniquingKeysWith: +)
          result.verifiedBy.merge(verdict.verifiedBy, uniquingKeysWith: +)
          result.changedAfterCutoff += verdict.changedAfterCutoff
          result.tagFetchesSaved += verdict.tagFetchesSaved
          verdict = KeyVerdict()
          watermark = key
          reportBytesAtWatermark = report.length
          options.progress?.compared(
            total: result.objectsProcessed, differences: result.objectsWithDifferences, bytesRead: 0)
          if result.objectsProcessed % options.numObjectsReport == 0 {
            let now = Date()
            logger.info(
              "Processed \(result.objectsProcessed) keys (\(result.versionsCompared) versions) in \(Self.seconds(now.timeIntervalSince(lastReport))) seconds, total elapsed \(Self.seconds(now.timeIntervalSince(startTime))) seconds"
            )
            lastReport = now
            try saveCheckpoint()
          }
        case .version(let sref, let dref):
          var d = outcome
          d.sourceVersion = sref
          d.destinationVersion = dref
          verdict.tagFetchesSaved += d.tagFetchesSaved
          // A worker's verdict on an aligned pair: the same content, so what differs is a version's
          // metadata, tags or headers.
          switch d.status {
          case .identical:
            if let by = d.verifiedBy { verdict.verifiedBy[by, default: 0] += 1 }
            continue
          case .different: d.status = .versionDifferent
          case .error: verdict.error = true
          case .unverified: verdict.unverified = true
          case .changedAfterCutoff:
            verdict.changedAfterCutoff += 1
            if !options.reportSkipped { continue }
          default: break
          }
          if DifferenceStatus.versionStatuses.contains(d.status) {
            verdict.statuses[d.status.rawValue, default: 0] += 1
            verdict.different = true
          }
          try report.write(
            options.reportFormat.line(
              for: d, sourceBucket: source.bucket, destinationBucket: destination.bucket, showTimes: cutoff != nil))
          options.recordSample.map { $0.0.add(pair: $0.1, d) }
        }
      }
    }

    func add(_ entry: Entry, event: MergeEvent, outcome: Difference?, work: WorkItem? = nil) throws {
      let seq = firstSeq
      firstSeq += 1
      pending.append(entry)
      window.add(seq: seq, event: event, outcome: outcome)
      if var work {
        work.seq = seq
        pool?.submit(work)
      }
      do {
        try write(try window.take(untilBelow: capacity, failure: failure))
      } catch is Interrupted {
        try saveCheckpoint()
        throw Interrupted(signal: interruptSignal)
      }
      if interruptSignal != 0 {
        try saveCheckpoint()
        throw Interrupted(signal: interruptSignal)
      }
    }

    try saveCheckpoint()
    var s = try nextAfterWatermark(src)
    var d = try nextAfterWatermark(dst)
    while s != nil || d != nil {
      let order = s == nil ? 1 : d == nil ? -1 : KeyOrder.compare(s!.key, d!.key)
      let key = order <= 0 ? s!.key : d!.key
      let sv = order <= 0 ? s!.versions : []
      let dv = order >= 0 ? d!.versions : []
      if order <= 0 { s = try nextAfterWatermark(src) }
      if order >= 0 { d = try nextAfterWatermark(dst) }
      let marker = ListedObject(key: key, etag: "", size: 0, lastModified: "")
      if !options.filter.isEmpty, !options.filter.decide(key).included {
        try add(.excluded(key: key), event: .onlyInSource(marker), outcome: Difference.placeholder(key))
        continue
      }
      for piece in versionPieces(key: key, sv, dv, cutoff: cutoff) {
        switch piece {
        case .record(let r):
          try add(
            .version(source: r.sourceVersion, destination: r.destinationVersion), event: .onlyInSource(marker),
            outcome: r)
        case .check(let a, let b, let sref, let dref):
          try add(
            .version(source: sref, destination: dref), event: .inBoth(source: a, destination: b), outcome: nil,
            work: WorkItem(
              pair: pairIndex, seq: 0, key: key, sourceVersion: sref.id, destinationVersion: dref.id))
        }
      }
      try add(
        .keyEnd(key: key, sourceVersions: sv.count, destinationVersions: dv.count), event: .onlyInSource(marker),
        outcome: Difference.placeholder(key))
    }
    do {
      try write(try window.take(untilBelow: 1, failure: failure))
    } catch is Interrupted {
      try saveCheckpoint()
      throw Interrupted(signal: interruptSignal)
    }
    try report.close()
    return result
  }

  /// A record decided from the listings, or an aligned pair a deep check decides.
  enum VersionPiece {
    case record(Difference)
    case check(ListedObject, ListedObject, VersionRef, VersionRef)
  }

  /// One key's pieces, from its histories (newest first as listed): versions after the cutoff and
  /// (without `compare_delete_markers`) delete markers left out, then aligned oldest first. Aligned
  /// versions (delete markers aside) are deep-checked when the pair is deep.
  func versionPieces(key: String, _ sv: [ObjectVersion], _ dv: [ObjectVersion], cutoff: Cutoff?) -> [VersionPiece] {
    func prepare(_ v: [ObjectVersion]) -> [ObjectVersion] {
      v.reversed().filter {
        (options.compareDeleteMarkers || !$0.isDeleteMarker) && !(cutoff?.isAfter($0.lastModified) ?? false)
      }
    }
    let s = prepare(sv)
    let d = prepare(dv)
    let (outcomes, byPosition) = VersionAlignment.align(s, d)
    if byPosition {
      logger.warning(
        "Key '\(key)' has \(max(s.count, d.count)) versions on a side, over \(VersionAlignment.alignmentCap): its histories were compared by position, not aligned"
      )
    }
    func ref(_ item: VersionAlignment.Item, of count: Int) -> VersionRef {
      VersionRef(
        id: item.version.versionID, position: item.position, count: count, isDeleteMarker: item.version.isDeleteMarker)
    }
    func listed(_ v: ObjectVersion) -> ListedObject {
      ListedObject(key: key, etag: v.etag, size: v.size, lastModified: v.lastModified)
    }
    var out: [VersionPiece] = []
    for o in outcomes {
      var r: Difference
      switch o {
      case .same(let a, let b):
        if options.deep, !a.version.isDeleteMarker {
          out.append(.check(listed(a.version), listed(b.version), ref(a, of: s.count), ref(b, of: d.count)))
        }
        continue
      case .different(let a, let b, let verdict):
        var status = DifferenceStatus.versionDifferent
        var fields: [DifferenceField] = []
        var reason: String? = nil
        switch verdict {
        case .identical: continue
        case .different(_, let f): fields = f
        case .unverified(let why):
          status = .unverified
          reason = "version \(a.position) of \(s.count): \(why)"
        }
        r = Difference(
          key: key, status: status, fields: fields, source: listed(a.version), destination: listed(b.version),
          reason: reason)
        r.sourceVersion = ref(a, of: s.count)
        r.destinationVersion = ref(b, of: d.count)
      case .missingInDestination(let a):
        r = Difference(
          key: key, status: a.version.isDeleteMarker ? .deleteMarkerMissing : .versionMissingInDestination,
          fields: [], source: listed(a.version), destination: nil)
        r.sourceVersion = ref(a, of: s.count)
      case .onlyInDestination(let b):
        if options.extraDestinationVersions == .allow { continue }
        r = Difference(
          key: key, status: b.version.isDeleteMarker ? .deleteMarkerExtra : .versionOnlyInDestination, fields: [],
          source: nil, destination: listed(b.version))
        r.destinationVersion = ref(b, of: d.count)
      }
      out.append(.record(r))
    }
    return out
  }
}

extension Difference {
  /// A window entry that carries no record (a key's end, a key left out).
  static func placeholder(_ key: String) -> Difference {
    Difference(key: key, status: .identical, fields: [], source: nil, destination: nil)
  }
}
