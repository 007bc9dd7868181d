import Foundation
import Logging
import S3

/// One shard's line in a merged summary (`shards`).
public struct ShardOutcome: Codable, Sendable, Equatable {
  public var index: Int
  public var status: PairStatus
  public var exit_code: Int32
  public var duration_seconds: Double
  public var objects_compared: Int
  public var objects_per_second: Double
  public var requests: Int
  /// Sides listed in full and filtered to the shard (their server does not list in UTF-8 byte order).
  public var sorted_listings: [String]?
}

/// The files of a sharded run under the manifest's output directory: shard *i* writes everything under
/// `OUTPUT_DIR/shards/i/` with the names the manifest gives (and always a `summary.json`); `merge` writes
/// the joined files into `OUTPUT_DIR` under the same names.
public enum ShardLayout {
  public static func directory(_ outputDir: String, shard: Int) -> String {
    (outputDir as NSString).appendingPathComponent("shards/\(shard)")
  }
  static func name(_ path: String) -> String { (path as NSString).lastPathComponent }
  /// The summary every shard writes, whatever the manifest names its summary: `merge` and the sibling
  /// shards read it there.
  static func summaryPath(_ shardDirectory: String) -> String {
    (shardDirectory as NSString).appendingPathComponent("summary.json")
  }

  /// The manifest of shard `index`: outputs moved under its directory, no sign-off page (`merge` joins).
  public static func shardManifest(_ m: Manifest, index: Int) -> (manifest: Manifest, stateDirectory: String) {
    var m = m
    let dir = directory(m.output.dir, shard: index)
    func inDir(_ p: String) -> String { (dir as NSString).appendingPathComponent(name(p)) }
    for i in m.pairs.indices { m.pairs[i].reportPath = m.pairs[i].reportPath.map(inDir) }
    m.output.summary = summaryPath(dir)
    m.output.junit = m.output.junit.map(inDir)
    m.output.metricsFile = m.output.metricsFile.map(inDir)
    m.output.html = nil
    m.output.dir = dir
    return (m, (dir as NSString).appendingPathComponent("state"))
  }
}

extension ShardLayout {
  /// The sides of `pair` that a sibling shard (a summary beside this shard's directory) had to list in full
  /// and sorted: its server does not list in byte order, so this shard's start-after would skip keys too.
  static func sortedSides(pair: String, shardDirectory: String) -> Set<Side> {
    let parent = (shardDirectory as NSString).deletingLastPathComponent
    var sides: Set<Side> = []
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] {
      let path = summaryPath((parent as NSString).appendingPathComponent(entry))
      guard let data = FileManager.default.contents(atPath: path),
        let s = try? JSONDecoder().decode(RunSummary.self, from: data),
        let p = s.pairs.first(where: { $0.name == pair })
      else { continue }
      for (side, edges) in p.shard_edges ?? [:] where edges.range_counts != nil {
        if let s = Side(rawValue: side) { sides.insert(s) }
      }
    }
    return sides
  }
}

/// What `merge` needs of the manifest, recorded in the plan (merge reads no manifest).
public struct PlanOutputs: Codable, Sendable, Equatable {
  public var summary: String
  public var junit: String?
  public var metrics: String?
  /// Per pair (in manifest order): its report's file name and whether an empty pair is accepted.
  public var reports: [String]
  public var allow_empty: [Bool]
}

extension ManifestRunner {
  /// Plans `shards` shards of every pair: boundaries from sampled listings of both sides.
  public func plan(shards: Int, manifestPath: String, samplesPerShard: Int = 8) throws -> ShardPlan {
    guard shards >= 1 else { throw ShardError("--shards must be at least 1") }
    if let p = manifest.pairs.first(where: { $0.versions }) {
      throw ShardError(
        "pair \(p.name): versions: true cannot be sharded yet (version listings have no key ranges); leave it out with --pair, or run it unsharded"
      )
    }
    let transport = CurlTransport(maxConnectionsPerHost: 2)
    defer { transport.shutdown() }
    let factory = ClientFactory(
      endpoints: Array(manifest.endpoints.values), transport: transport, maxConcurrency: 2, rateShare: 1,
      maxAttempts: manifest.tuning.maxAttempts, requestTimeout: manifest.tuning.requestTimeout, logger: logger)
    var pairs: [ShardPlan.Pair] = []
    for pair in manifest.pairs {
      let started = Date()
      var sides: [(samples: [KeySampler.Sample], total: Double)] = []
      var probes: [String: Int] = [:]
      if pair.source.inventory != nil || pair.destination.inventory != nil {
        inventories.load(pair, endpoints: manifest.endpoints, clients: factory, logger: logger)
      }
      let snapshots = try inventories.snapshots(pair.name)
      for (side, s) in [(Side.source, pair.source), (.destination, pair.destination)] {
        guard let ep = manifest.endpoints[s.endpoint] else {
          throw ShardError("pair \(pair.name): no endpoint \(s.endpoint)")
        }
        if let snapshot = side == .source ? snapshots.source : snapshots.destination {
          // An inventory holds every key: its quantiles are exact, and reading it lists nothing.
          let sample = try KeySampler.quantiles(
            of: snapshot, prefix: s.prefix,
            directory: FileManager.default.temporaryDirectory.appendingPathComponent(
              "bucket-delta-plan-\(getpid())-\(UUID().uuidString)"))
          sides.append(sample)
          probes[side.rawValue] = 0
          logger.info(
            "Pair \(pair.name), \(side): \(Int(sample.total)) objects in the inventory \(snapshot.manifestName) (boundaries from its keys, no listing)"
          )
          continue
        }
        let client = factory.client(ep)
        var target = ListingTarget(client: client, bucket: s.bucket, prefix: s.prefix)
        target.narrowing = pair.filter.listingPrefix
        let t = target
        var sampler = KeySampler(samples: shards == 1 ? 1 : samplesPerShard * shards)
        let sample = try sampler.sample { sub, after, maxKeys, delimiter in
          let page = try t.client.listObjectsV2(
            bucket: t.bucket, prefix: t.prefix + (sub.isEmpty ? t.narrowing : sub),
            startAfter: after.map { t.prefix + $0 }, maxKeys: maxKeys, delimiter: delimiter)
          let pageGuard = ListingPageGuard(target: t)
          return (
            try pageGuard.stripPrefix(page.objects).map(\.key),
            try page.commonPrefixes.map { try pageGuard.relative($0, what: "common prefix") }, page.isTruncated
          )
        }
        sides.append(sample)
        probes[side.rawValue] = sampler.requests
        logger.info(
          "Pair \(pair.name), \(side) bucket \(s.bucket): about \(Int(sample.total.rounded())) objects (\(sampler.requests) listing requests)"
        )
      }
      let split = KeySampler.boundaries(shards: shards, sides: sides)
      let cutoff = cutoff(pair)
      pairs.append(
        ShardPlan.Pair(
          name: pair.name, fingerprint: CheckpointStore.fingerprint(fingerprintParts(pair)),
          boundaries: split.boundaries, estimates: split.estimates, as_of: cutoff?.text,
          as_of_epoch: cutoff?.epochSeconds, probes: probes,
          seconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000))
      logger.info(
        "Pair \(pair.name): \(shards) ranges, estimated objects \(split.estimates.map(String.init).joined(separator: ", "))"
      )
    }
    let fingerprint = CheckpointStore.fingerprint(pairs.map(\.fingerprint))
    return ShardPlan(
      id: ShardPlan.identity(fingerprint: fingerprint, pairs: pairs), created_at: isoTimestamp(startTime),
      tool_version: toolVersion, manifest: manifestPath, manifest_fingerprint: fingerprint, shards: shards,
      pairs: pairs,
      outputs: PlanOutputs(
        summary: ShardLayout.name(manifest.output.summary ?? "summary.json"),
        junit: manifest.output.junit.map(ShardLayout.name), metrics: manifest.output.metricsFile.map(ShardLayout.name),
        reports: manifest.pairs.map { ShardLayout.name(reportPath($0)) }, allow_empty: manifest.pairs.map(\.allowEmpty))
    )
  }

  /// Refuses a plan made from other pairs or settings than this manifest's.
  public func check(plan: ShardPlan, path: String) throws {
    for pair in manifest.pairs {
      guard let p = plan.pairs.first(where: { $0.name == pair.name }) else {
        throw ShardError("\(path) has no pair \(pair.name): plan again with this manifest")
      }
      guard p.fingerprint == CheckpointStore.fingerprint(fingerprintParts(pair)) else {
        throw ShardError(
          "\(path) was planned for other settings of pair \(pair.name) (endpoints, buckets, prefixes, check, filters or output format differ): plan again with this manifest and these flags"
        )
      }
    }
  }
}

/// `bucket-delta merge`: joins the shards of a plan into what an unsharded run writes.
public enum ShardMerge {
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// Reads every shard's summary under `outputDir/shards/`, refusing missing, unfinished or foreign ones.
  public static func shardSummaries(plan: ShardPlan, outputDir: String) throws -> [RunSummary] {
    var problems: [String] = []
    var out: [RunSummary] = []
    for i in 0..<plan.shards {
      let path = ShardLayout.summaryPath(ShardLayout.directory(outputDir, shard: i))
      guard let data = FileManager.default.contents(atPath: path) else {
        problems.append("shard \(i): no summary at \(path): it did not run or did not finish; re-run index \(i)")
        continue
      }
      guard let s = try? JSONDecoder().decode(RunSummary.self, from: data) else {
        problems.append("shard \(i): \(path) is not a bucket-delta summary; re-run index \(i)")
        continue
      }
      guard let mark = s.shard, mark.plan_id == plan.id, mark.index == i else {
        problems.append(
          "shard \(i): \(path) was written by \(s.shard.map { "shard \($0.index) of another plan (\($0.plan_id.prefix(12)))" } ?? "an unsharded run"), not by shard \(i) of this plan (\(plan.id.prefix(12))); re-run index \(i) with this plan"
        )
        continue
      }
      if s.interrupted == true || s.pairs.count < plan.pairs.count {
        problems.append("shard \(i): unfinished (interrupted); re-run index \(i) with --resume")
        continue
      }
      if let failed = s.pairs.first(where: { $0.status == .error }) {
        problems.append(
          "shard \(i): pair \(failed.name) failed: \(failed.error ?? "error"); re-run index \(i) with --resume")
        continue
      }
      out.append(s)
    }
    guard problems.isEmpty else { throw Failure(description: problems.joined(separator: "\n")) }
    return out
  }

  /// Checks that neighbouring shards' listings join up: shard *i*'s first key past its upper bound must be
  /// the first key shard *i+1* listed after it, per pair and side (where both listed in the server's
  /// order). Catches a server whose `start-after` loses or invents keys, and keys written or deleted at a
  /// boundary between the two shards' runs.
  public static func checkEdges(plan: ShardPlan, shards: [RunSummary]) throws {
    var problems: [String] = []
    for planned in plan.pairs {
      let parts = shards.map { $0.pairs.first { $0.name == planned.name } }
      for side in ["source", "destination"] {
        // A sorted full listing counted every range: a shard listed in the server's order must hold as many.
        if let counts = parts.lazy.compactMap({ $0?.shard_edges?[side]?.range_counts }).first {
          for (i, p) in parts.enumerated() {
            guard let listed = p?.shard_edges?[side]?.listed, i < counts.count, listed != counts[i] else { continue }
            problems.append(
              "pair \(planned.name), \(side) bucket: shard \(i) listed \(listed) keys in its range, a sorted full listing of the bucket holds \(counts[i]) (its server does not list in UTF-8 byte order, so start-after skipped keys, or the bucket changed between the runs); re-run index \(i)"
            )
          }
        }
        for i in 0..<max(0, parts.count - 1) {
          guard let a = parts[i]?.shard_edges?[side], let b = parts[i + 1]?.shard_edges?[side],
            a.range_counts == nil, b.range_counts == nil
          else { continue }
          if a.overshoot != b.first {
            func show(_ k: String?) -> String { k.map { "'\($0)'" } ?? "(the end)" }
            problems.append(
              "pair \(planned.name), \(side) bucket: shards \(i) and \(i + 1) do not join up at '\(planned.boundaries[i])': shard \(i) went on with \(show(a.overshoot)), shard \(i + 1) began with \(show(b.first)) (a key written or deleted at the boundary between their runs, or a server whose start-after does not match its listing); re-run indexes \(i) and \(i + 1)"
            )
          }
        }
      }
    }
    guard problems.isEmpty else { throw Failure(description: problems.joined(separator: "\n")) }
  }

  /// The merged summary and, per pair, the report files to concatenate in shard order.
  public static func merge(
    plan: ShardPlan, shards: [RunSummary], outputDir: String, toolVersion: String,
    exitStatus: (RunOutcome) -> Int32
  ) -> (summary: RunSummary, reports: [(parts: [String], into: String)]) {
    var pairs: [PairSummary] = []
    var reports: [(parts: [String], into: String)] = []
    for (n, planned) in plan.pairs.enumerated() {
      let parts = shards.compactMap { $0.pairs.first { $0.name == planned.name } }
      var p = parts[0]
      let duration = parts.map(\.duration_seconds).max() ?? 0
      func sum(_ k: KeyPath<PairSummary, Int>) -> Int { parts.reduce(0) { $0 + $1[keyPath: k] } }
      p.objects_compared = sum(\.objects_compared)
      p.only_in_source = sum(\.only_in_source)
      p.only_in_destination = sum(\.only_in_destination)
      p.different = sum(\.different)
      p.identical = sum(\.identical)
      p.unverified = sum(\.unverified)
      p.errors = sum(\.errors)
      p.changed_after_cutoff = sum(\.changed_after_cutoff)
      p.excluded = sum(\.excluded)
      p.tag_fetches_saved = sum(\.tag_fetches_saved)
      p.worker_restarts = sum(\.worker_restarts)
      p.resumed = sum(\.resumed)
      p.requests = sum(\.requests)
      p.retries = sum(\.retries)
      p.throttled = sum(\.throttled)
      p.bytes_read = parts.reduce(0) { $0 + $1.bytes_read }
      p.verified_by = parts.reduce(into: [:]) { acc, s in acc.merge(s.verified_by, uniquingKeysWith: +) }
      p.duration_seconds = duration
      p.objects_per_second = duration > 0 ? (Double(p.objects_compared) / duration * 100).rounded() / 100 : 0
      p.requests_per_object =
        p.objects_compared > 0 ? (Double(p.requests) / Double(p.objects_compared) * 1000).rounded() / 1000 : 0
      p.sorted_listings = ["source", "destination"].filter { s in parts.contains { $0.sorted_listings.contains(s) } }
      var warnings: [String] = []
      for w in parts.flatMap({ $0.warnings ?? [] }) where !warnings.contains(w) { warnings.append(w) }
      p.warnings = warnings.isEmpty ? nil : warnings
      p.progress_series = nil
      p.shard_edges = nil
      let into = (outputDir as NSString).appendingPathComponent(plan.outputs.reports[n])
      p.report = into
      p.error = nil
      p.status = PairStatus.verdict(
        errors: p.errors, differences: p.different + p.only_in_source + p.only_in_destination, unverified: p.unverified)
      if p.errors > 0 { p.error = PairStatus.keysNotChecked(p.errors) }
      if p.objects_compared == 0 {
        p.status = .empty
        if !plan.outputs.allow_empty[n] {
          p.error =
            "both listings are empty in all \(plan.shards) shards: nothing was compared. Check the bucket names and prefixes; if both are meant to be empty, set allow_empty: true for the pair (--allow_empty)"
        }
      }
      pairs.append(p)
      reports.append(
        (
          shards.indices.map { i in
            (ShardLayout.directory(outputDir, shard: i) as NSString).appendingPathComponent(plan.outputs.reports[n])
          }, into
        ))
    }
    let status = RunSummary.status(of: pairs, expected: plan.pairs.count)
    var summary = RunSummary(
      tool_version: toolVersion, started_at: shards.map(\.started_at).min() ?? "",
      finished_at: shards.map(\.finished_at).max() ?? "", status: status, exit_code: exitStatus(.finished(status)),
      pairs: pairs)
    summary.shards = shards.enumerated().map { i, s in
      let objects = s.pairs.reduce(0) { $0 + $1.objects_compared }
      let duration = s.pairs.reduce(0) { $0 + $1.duration_seconds }
      let sorted = Array(Set(s.pairs.flatMap(\.sorted_listings))).sorted()
      return ShardOutcome(
        index: i, status: s.status, exit_code: s.exit_code, duration_seconds: (duration * 1000).rounded() / 1000,
        objects_compared: objects,
        objects_per_second: duration > 0 ? (Double(objects) / duration * 100).rounded() / 100 : 0,
        requests: s.pairs.reduce(0) { $0 + $1.requests }, sorted_listings: sorted.isEmpty ? nil : sorted)
    }
    return (summary, reports)
  }

  /// Concatenates `parts` into `into` (atomically).
  public static func concatenate(_ parts: [String], into: String) throws {
    var data: [UInt8] = []
    for p in parts {
      guard let d = FileManager.default.contents(atPath: p) else {
        throw Failure(description: "cannot read the shard report \(p)")
      }
      data += d
    }
    try writeAtomically(data: data, to: into)
  }

  /// Merges and writes everything; returns the summary (its `exit_code` is the run's).
  public static func run(
    plan: ShardPlan, outputDir: String, toolVersion: String, logger: Logger, exitStatus: @escaping (RunOutcome) -> Int32
  ) throws -> RunSummary {
    let shards = try shardSummaries(plan: plan, outputDir: outputDir)
    try checkEdges(plan: plan, shards: shards)
    var (summary, reports) = merge(
      plan: plan, shards: shards, outputDir: outputDir, toolVersion: toolVersion, exitStatus: exitStatus)
    for r in reports { try concatenate(r.parts, into: r.into) }
    func inDir(_ name: String) -> String { (outputDir as NSString).appendingPathComponent(name) }
    let output = OutputConfig(
      dir: outputDir, format: .text, summary: inDir(plan.outputs.summary), junit: plan.outputs.junit.map(inDir),
      metricsFile: plan.outputs.metrics.map(inDir))
    RunOutputs.write(&summary, to: output, logger: logger) { s in
      s.status = .error
      s.exit_code = exitStatus(.finished(.error))
    }
    RunLog.runSummary(summary, summaryPath: output.summary, logger: logger)
    return summary
  }
}
