import Foundation
import Logging
import S3

/// Runs the pairs of a manifest with one HTTP transport and one pool of worker processes shared by
/// all pairs; writes a report per pair and the JSON summary. One pair failing does not stop the others.
public struct ManifestRunner: Sendable {
  public var manifest: Manifest
  public var logger: Logger
  public var startTime: Date
  public var toolVersion: String
  /// Continue unfinished pairs from their checkpoints; finished pairs are not redone.
  public var resume: Bool
  /// The private directory of checkpoints and finished-pair markers.
  public var stateDirectory: String
  /// A single-pair run from flags: `--resume` needs a checkpoint (finished runs are not remembered).
  public var singlePair = false
  /// The live progress block (on a terminal), nil for none.
  public var progress: (any ProgressReporter)?
  /// The first records of each pair's report, for the sign-off page.
  let recordSample = RecordSample(limit: 1000)
  /// Each pair's compared objects over time (`progress_series`).
  let series = ProgressSeries()
  /// The S3 Inventories of the pairs' sides, read before the pairs start.
  let inventories = InventoryCache()
  /// A sharded run: the plan and the shard this process compares (`run --plan --shard`).
  public var shard: (plan: ShardPlan, index: Int)?
  /// The process exit status of an outcome (the CLI's one mapping), also written into the summary.
  public var exitStatus: @Sendable (RunOutcome) -> Int32

  public init(
    manifest: Manifest, logger: Logger, startTime: Date = Date(), toolVersion: String, resume: Bool = false,
    stateDirectory: String = CheckpointStore.stateDirectory(), exitStatus: @escaping @Sendable (RunOutcome) -> Int32
  ) {
    self.exitStatus = exitStatus
    self.manifest = manifest
    self.logger = logger
    self.startTime = startTime
    self.toolVersion = toolVersion
    self.resume = resume
    self.stateDirectory = stateDirectory
  }

  /// The checkpoint store of `pair`.
  public func checkpointStore(_ pair: PairConfig) -> CheckpointStore {
    CheckpointStore(
      directory: stateDirectory, pair: pair.name, reportPath: reportPath(pair),
      fingerprint: CheckpointStore.fingerprint(
        fingerprintParts(pair) + (shard.map { ["shard=\($0.plan.id)/\($0.index)"] } ?? [])))
  }

  /// What a pair's results depend on: a checkpoint or a plan made with other values does not apply.
  public func fingerprintParts(_ pair: PairConfig) -> [String] {
    func side(_ s: PairSide) -> [String] {
      let ep = manifest.endpoints[s.endpoint]
      return [ep?.url ?? "", ep?.region ?? "", ep?.addressing.rawValue ?? "", s.bucket, s.prefix]
    }
    let parts =
      side(pair.source) + side(pair.destination)
      + [
        pair.check.rawValue, pair.check == .deep ? String(pair.compareObjectTags) : "-",
        manifest.output.format.rawValue,
      ]
      // Added only when not the seed's: checkpoints of runs at the defaults stay valid.
      + (pair.level != .default(deep: pair.check == .deep) ? ["verify=\(pair.level.rawValue)"] : [])
      + (pair.reportMatches ? ["report_matches"] : [])
      + (pair.level == .content ? ["content_scope=\(pair.contentScope.rawValue)"] : [])
      // The cutoff itself is not part of it: a resume keeps the checkpoint's resolved instant.
      + (pair.asOf != nil ? ["as_of"] : []) + (pair.reportSkipped ? ["report_skipped"] : [])
      + (pair.filterRules.isEmpty ? [] : ["filters=\(pair.filterRules.map(\.description).joined(separator: "\u{0}"))"])
      + (pair.ignore.isEmpty ? [] : ["ignore=\(pair.ignore.names.joined(separator: ","))"])
      + (pair.versions
        ? ["versions", "markers=\(pair.compareDeleteMarkers)", "extra=\(pair.extraDestinationVersions.rawValue)"] : [])
      + [pair.source, pair.destination].compactMap { $0.inventory.map { "inventory=\($0)" } }
    return parts
  }

  /// The as-of cutoff of `pair`: on a resume the one its checkpoint recorded, else its `as_of` resolved
  /// against this run's start.
  func cutoff(_ pair: PairConfig) -> Cutoff? {
    if let shard, let p = shard.plan.pairs.first(where: { $0.name == pair.name }) {
      return p.as_of_epoch.map { Cutoff(epochSeconds: $0) }
    }
    // An inventory is a snapshot: objects changed after it are not differences (unless as_of says otherwise).
    if pair.asOf == nil, let t = inventories.createdAt(pair.name) { return Cutoff(epochSeconds: t) }
    guard let asOf = pair.asOf else { return nil }
    if resume, let cp = try? checkpointStore(pair).load(), let c = cp.cutoff { return c }
    return Cutoff(epochSeconds: asOf.cutoff(runStart: startTime))
  }

  /// The report path of `pair`.
  public func reportPath(_ pair: PairConfig) -> String {
    pair.reportPath
      ?? (manifest.output.dir as NSString).appendingPathComponent(
        "\(pair.name).\(manifest.output.format.fileExtension)")
  }

  /// Runs every pair and returns the summary (also written to `output.summary` when set).
  public func run() -> RunSummary {
    let tuning = manifest.tuning
    let transport = CurlTransport(maxConnectionsPerHost: tuning.numConnections)
    defer { transport.shutdown() }
    // Deep pairs send every key to the workers; shallow ones verifying beyond ETags send the keys the
    // listings cannot decide.
    let hasDeep = manifest.pairs.contains(where: { $0.check == .deep || $0.level > .etag })
    // With deep pairs, the coordinator and each worker take an equal share of every rate cap.
    let rateShare = hasDeep ? 1 / Double(tuning.numProcesses + 1) : 1
    let used = Set(manifest.pairs.flatMap { [$0.source.endpoint, $0.destination.endpoint] })
    for name in used.sorted() {
      guard let ep = manifest.endpoints[name] else { continue }
      if !ep.credentialSource.isEmpty { logger.debug("Endpoint \(name): credentials from \(ep.credentialSource)") }
      if !ep.tls.verify {
        logger.warning(
          "INSECURE: TLS certificates of endpoint \(name) (\(ep.url)) are NOT verified (insecure_skip_tls_verify): anyone on the network path can impersonate it"
        )
      }
      if manifest.pairs.contains(where: {
        $0.check == .deep && $0.compareObjectTags && [$0.source.endpoint, $0.destination.endpoint].contains(name)
      }) {
        let why: String
        switch ep.taggingCountHeader {
        case .trust: why = "trusted (tagging_count_header: trust)"
        case .ignore: why = "ignored: tags are fetched for every object (tagging_count_header: ignore)"
        case .auto:
          why =
            TaggingCountPolicy.isAmazonS3(ep)
            ? "trusted (auto: an Amazon S3 host)"
            : "trusted once the endpoint has sent it with tags that match (auto: not an Amazon S3 host)"
        }
        logger.info(
          "Endpoint \(name): x-amz-tagging-count \(why)\(ep.taggingCountHeader == .ignore ? "" : "; tags fetched anyway for every \(tuning.taggingCountSample)th object to check it")"
        )
      }
      if let cap = ep.maxRequestsPerSecond {
        logger.info("Endpoint \(name): at most \(cap) requests/second in all")
      }
    }
    let factory = ClientFactory(
      endpoints: Array(manifest.endpoints.values), transport: transport,
      maxConcurrency: tuning.numConnections, rateShare: rateShare, maxAttempts: tuning.maxAttempts,
      requestTimeout: tuning.requestTimeout, logger: logger)
    for pair in manifest.pairs where pair.source.inventory != nil || pair.destination.inventory != nil {
      inventories.load(pair, endpoints: manifest.endpoints, clients: factory, logger: logger)
    }
    if manifest.pairs.contains(where: { $0.reportPath == nil }) {
      try? FileManager.default.createDirectory(
        atPath: manifest.output.dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    let router = ResultRouter()
    addInterruptWaker { router.wakeAll() }
    var pool: WorkerPool?
    var poolError: String?
    if hasDeep {
      var config = WorkerConfig(
        pairs: manifest.pairs.map { workerPair($0) }, numConnections: tuning.numConnections,
        maxAttempts: tuning.maxAttempts, logLevel: manifest.logLevel)
      config.requestTimeout = tuning.requestTimeout
      config.rateShare = rateShare
      config.taggingCountSample = tuning.taggingCountSample
      if tuning.maxContentBytes > 0 { config.contentBudget = Int64(tuning.maxContentBytes / tuning.numProcesses) }
      do {
        logger.info("Starting \(tuning.numProcesses) deep-check worker processes")
        let p = try WorkerPool(
          config: config, processes: tuning.numProcesses, perWorkerInFlight: max(2 * tuning.numConnections, 1),
          maxRestarts: max(3, tuning.numProcesses),
          withholding: Set(manifest.endpoints.values.flatMap(\.credentialVariables)), logger: logger,
          onFailure: { router.wakeAll() }, onResult: { router.deliver($0) })
        try p.start()
        pool = p
      } catch {
        poolError = "cannot start the worker processes: \(error)"
        logger.error("\(poolError!)")
      }
    }
    defer { pool?.shutdown() }

    progress?.start()
    defer { progress?.stop() }
    series.start()
    let results = PairResults(count: manifest.pairs.count)
    let next = Counter()
    let threads = max(1, min(tuning.parallelPairs, manifest.pairs.count))
    let group = DispatchGroup()
    for _ in 0..<threads {
      group.enter()
      let t = Thread { [self, pool, poolError] in
        while interruptSignal == 0, let i = next.take(below: manifest.pairs.count) {
          results.set(i, runPair(i, clients: factory, pool: pool, poolError: poolError, router: router))
        }
        group.leave()
      }
      t.start()
    }
    group.wait()
    series.stop()

    let pairs = results.all()
    let status = RunSummary.status(of: pairs, expected: manifest.pairs.count)
    let signal = interruptSignal
    func outcome(_ status: PairStatus) -> RunOutcome { signal != 0 ? .interrupted(signal: signal) : .finished(status) }
    var summary = RunSummary(
      tool_version: toolVersion, started_at: isoTimestamp(startTime), finished_at: isoTimestamp(Date()), status: status,
      exit_code: exitStatus(outcome(status)), pairs: pairs)
    if let shard { summary.shard = ShardMark(plan_id: shard.plan.id, index: shard.index, of: shard.plan.shards) }
    if signal != 0 { summary.interrupted = true }
    /// An output that cannot be written fails the run.
    let exitStatus = self.exitStatus
    func failOutput(_ summary: inout RunSummary) {
      summary.status = .error
      summary.exit_code = exitStatus(outcome(.error))
    }
    RunOutputs.write(&summary, to: manifest.output, logger: logger, failed: failOutput)
    if let path = manifest.output.html {
      // After the summary, whose SHA-256 it shows; also when the run failed (the verdict line says so).
      let page = SignoffPage.render(
        .init(
          summary: summary, manifest: manifest, sample: recordSample, summaryPath: manifest.output.summary,
          reportPaths: manifest.pairs.map { reportPath($0) }.filter { FileManager.default.fileExists(atPath: $0) },
          arguments: CommandLine.arguments))
      do {
        try writeAtomically(data: Array(page.utf8), to: path)
      } catch {
        logger.error("Cannot write the sign-off page: \(error)")
        failOutput(&summary)
      }
    }
    if manifest.pairs.count > 1 || manifest.output.summary != nil {
      RunLog.runSummary(summary, summaryPath: manifest.output.summary, logger: logger)
    }
    return summary
  }

  private func workerPair(_ p: PairConfig) -> WorkerPair {
    func side(_ s: PairSide) -> WorkerSide {
      WorkerSide(endpoint: manifest.endpoints[s.endpoint]!, bucket: s.bucket, prefix: s.prefix)
    }
    var wp = WorkerPair(
      source: side(p.source), destination: side(p.destination), compareTags: p.compareObjectTags,
      deep: p.check == .deep, verify: p.level)
    wp.contentScope = p.contentScope
    wp.ignore = p.ignore
    wp.cutoff = cutoff(p)
    return wp
  }

  private func runPair(
    _ index: Int, clients: ClientFactory, pool: WorkerPool?, poolError: String?, router: ResultRouter
  ) -> PairSummary {
    let pair = manifest.pairs[index]
    let started = Date()
    let path = reportPath(pair)
    var summary = PairSummary(
      name: pair.name, status: .error, check: pair.check.rawValue,
      source: "\(pair.source.endpoint):\(pair.source.bucket)/\(pair.source.prefix)",
      destination: "\(pair.destination.endpoint):\(pair.destination.bucket)/\(pair.destination.prefix)",
      objects_compared: 0, only_in_source: 0, only_in_destination: 0, different: 0, errors: 0, duration_seconds: 0,
      objects_per_second: 0, report: path, sorted_listings: [], worker_restarts: 0, resumed: 0, requests: 0, retries: 0,
      throttled: 0, error: nil)
    if manifest.pairs.count > 1 { logger.info("------Pair \(pair.name)------") }
    let store = checkpointStore(pair)
    var pairResume = resume
    if resume && !singlePair {
      if let done = store.finishedSummary() {
        logger.info("Pair \(pair.name) finished in an earlier run; not redone")
        return done
      }
      // A shard is resumed after a pod restart whether or not it got as far as a checkpoint.
      if manifest.pairs.count > 1 || shard != nil, !FileManager.default.fileExists(atPath: store.path) {
        logger.info("Pair \(pair.name) has no checkpoint: it never started, so it starts now")
        pairResume = false
      }
    } else {
      store.clearFinished()
    }
    var result = PairResult()
    var warnings: [String] = []
    var listingClients: [S3Client] = []
    let pairProgress = PairProgress(name: pair.name, previousTotal: store.lastObjectCount(), started: started)
    progress?.add(pairProgress)
    defer { progress?.remove(pairProgress) }
    series.add(index, pairProgress)
    do {
      if pair.check == .deep || pair.level > .etag, pool == nil { throw WorkerError(poolError ?? "no worker pool") }
      guard let srcEP = manifest.endpoints[pair.source.endpoint],
        let dstEP = manifest.endpoints[pair.destination.endpoint]
      else {
        throw WorkerError("endpoint not available")
      }
      let src = clients.client(srcEP)
      let dst = clients.client(dstEP)
      listingClients = [src, dst]
      var options = PairOptions()
      options.reportFormat = manifest.output.format
      options.numObjectsReport = manifest.tuning.numObjectsReport
      options.deep = pair.check == .deep
      options.verify = pair.level
      options.reportMatches = pair.reportMatches
      options.contentScope = pair.contentScope
      options.asOf = pair.asOf
      options.runStart = startTime
      options.reportSkipped = pair.reportSkipped
      options.filter = pair.filter
      options.recordSample = (recordSample, index)
      options.versions = pair.versions
      options.compareDeleteMarkers = pair.compareDeleteMarkers
      options.extraDestinationVersions = pair.extraDestinationVersions
      if pair.versions && (pair.level == .content || (pair.check == .shallow && pair.level > .etag)) {
        throw WorkerError(
          "versions: true with verify: \(pair.level.rawValue)\(pair.check == .shallow ? " on a shallow check" : "") is not built yet (content is not read per version): use verify: etag for a shallow check, or check: deep (--shallow_check false), which checks every aligned version pair with HeadObject and GetObjectTagging at verify: checksum"
        )
      }
      options.maxQueueSize = manifest.tuning.maxQueueSize
      options.rangeListers = manifest.tuning.rangeListers
      options.checkpoint = store
      options.resume = pairResume
      options.progress = pairProgress
      logger.debug(
        "Check type: \(pair.check.rawValue), compare_object_tags=\(pair.compareObjectTags), num_processes=\(manifest.tuning.numProcesses), num_connections=\(manifest.tuning.numConnections), max_queue_size=\(manifest.tuning.maxQueueSize)"
      )
      var sourceTarget = ListingTarget(
        client: src, bucket: pair.source.bucket, prefix: pair.source.prefix, pageSize: manifest.tuning.listPageSize)
      var destinationTarget = ListingTarget(
        client: dst, bucket: pair.destination.bucket, prefix: pair.destination.prefix,
        pageSize: manifest.tuning.listPageSize)
      if let shard, let p = shard.plan.pairs.first(where: { $0.name == pair.name }) {
        sourceTarget.interval = ShardPlan.interval(p, shard: shard.index)
        destinationTarget.interval = sourceTarget.interval
        sourceTarget.planBoundaries = p.boundaries
        destinationTarget.planBoundaries = p.boundaries
        options.sortedFromStart = ShardLayout.sortedSides(pair: pair.name, shardDirectory: manifest.output.dir)
        for side in Side.inOrder(options.sortedFromStart) {
          logger.warning(
            "Another shard found that the \(side) bucket does not list in UTF-8 byte order: listing all of it, sorted, and keeping this shard's range"
          )
        }
      }
      if pair.source.inventory != nil || pair.destination.inventory != nil {
        let snapshots = try inventories.snapshots(pair.name)
        sourceTarget.inventory = snapshots.source
        destinationTarget.inventory = snapshots.destination
        if pair.asOf == nil, let c = cutoff(pair) {
          options.asOf = .instant(c.epochSeconds)
          logger.info(
            "As-of cutoff from the inventory's creationTimestamp: \(c.text) (objects changed after the snapshot are not judged)"
          )
        }
        if pair.versions {
          throw WorkerError(
            "versions: true with an inventory side is not built yet: compare the latest versions (versions: false)")
        }
      }
      let narrowing = pair.filter.listingPrefix
      if !narrowing.isEmpty {
        sourceTarget.narrowing = narrowing
        destinationTarget.narrowing = narrowing
        logger.info("Listing only keys starting with '\(narrowing)' (every include rule starts so)")
      }
      let comparison = PairComparison(
        source: sourceTarget, destination: destinationTarget, reportPath: path, options: options, logger: logger,
        startTime: started)
      result = try comparison.run(pool: pool, pairIndex: index, router: router)
      summary.status = PairStatus.verdict(
        errors: result.errors, differences: result.objectsWithDifferences, unverified: result.unverified)
      if result.errors > 0 { summary.error = PairStatus.keysNotChecked(result.errors) }
      if result.objectsProcessed == 0 && shard != nil {
        // A shard's range may hold no keys; `merge` judges the pair as a whole.
        summary.status = .empty
      } else if result.objectsProcessed == 0 {
        summary.status = .empty
        let what =
          "both listings are empty: nothing was compared (source \(pair.source.bucket)/\(pair.source.prefix) at \(srcEP.url), destination \(pair.destination.bucket)/\(pair.destination.prefix) at \(dstEP.url))"
        if pair.allowEmpty {
          logger.warning("\(what); accepted (allow_empty)")
        } else {
          summary.error =
            "\(what). Check the bucket names and prefixes; if both are meant to be empty, set allow_empty: true for the pair (--allow_empty)"
          logger.warning("\(what)")
        }
        warnings.append(what)
      }
    } catch {
      summary.error = "\(error)"
    }
    let elapsed = Date().timeIntervalSince(started)
    summary.objects_compared = result.objectsProcessed
    summary.only_in_source = result.onlyInSource
    summary.only_in_destination = result.onlyInDestination
    summary.different = result.different
    summary.identical = result.identical
    summary.unverified = result.unverified
    summary.verify = pair.level.rawValue
    summary.verified_by = result.verifiedBy
    summary.bytes_read = result.bytesRead
    summary.tag_fetches_saved = result.tagFetchesSaved
    summary.progress_series = series.finish(index)
    summary.changed_after_cutoff = result.changedAfterCutoff
    summary.excluded = result.excluded
    summary.as_of = (result.cutoff ?? cutoff(pair))?.text
    summary.filters = pair.filterRules.isEmpty ? nil : pair.filterRules.map(\.description)
    summary.ignored_fields = pair.ignore.isEmpty ? nil : pair.ignore.names
    if pair.versions {
      summary.versions_compared = result.versionsCompared
      summary.version_differences = result.versionStatuses
    }
    summary.versioning =
      result.versioning.isEmpty
      ? nil : Dictionary(uniqueKeysWithValues: result.versioning.map { ($0.key.rawValue, $0.value.rawValue) })
    summary.errors = result.errors
    summary.duration_seconds = (elapsed * 1000).rounded() / 1000
    summary.objects_per_second = elapsed > 0 ? (Double(result.objectsProcessed) / elapsed * 100).rounded() / 100 : 0
    summary.sorted_listings = result.sortedSides.map(\.rawValue)
    if shard != nil && summary.error == nil { summary.shard_edges = result.shardEdges }
    summary.worker_restarts = result.workerRestarts
    summary.resumed = result.resumes
    let counts = listingClients.reduce(result.workerCounts) { $0 + $1.stats.counts }
    summary.requests = counts.requests
    summary.retries = counts.retries
    summary.throttled = counts.throttled
    summary.requests_per_object =
      result.objectsProcessed > 0
      ? (Double(counts.requests) / Double(result.objectsProcessed) * 1000).rounded() / 1000 : 0
    if shard != nil {
      for side in result.sortedSides {
        warnings.append(
          "the \(side) bucket does not list in UTF-8 byte order, so this shard listed all of it, sorted, and kept its own key range (correct, but each such shard lists the whole bucket)"
        )
      }
    }
    warnings = result.warnings + warnings
    summary.warnings = warnings.isEmpty ? nil : warnings
    if summary.error == nil { store.saveObjectCount(result.objectsProcessed) }
    if summary.error == nil && !singlePair { store.markFinished(summary) }

    let total = manifest.pairs.count == 1 ? Date().timeIntervalSince(startTime) : elapsed
    RunLog.finalReport(
      pair: pair.name, result: result, summary: summary, seconds: total, reportPath: path, logger: logger)
    return summary
  }
}

/// Results of the pairs, filled from several threads.
private final class PairResults: @unchecked Sendable {
  // @unchecked: guarded by `lock`.
  private let lock = NSLock()
  private var items: [PairSummary?]
  init(count: Int) { items = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ s: PairSummary) { lock.withLock { items[i] = s } }
  func all() -> [PairSummary] { lock.withLock { items.compactMap { $0 } } }
}

/// Hands out indices 0, 1, 2, ... to threads.
private final class Counter: @unchecked Sendable {
  // @unchecked: guarded by `lock`.
  private let lock = NSLock()
  private var value = 0
  func take(below limit: Int) -> Int? {
    lock.withLock {
      guard value < limit else { return nil }
      defer { value += 1 }
      return value
    }
  }
}
