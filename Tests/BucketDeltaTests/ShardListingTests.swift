import Foundation
import Logging
import S3
import Testing

@testable import BucketDelta

/// Shards' listings on in-memory servers with chosen listing rules (`RangeServer`), the key sampler and the
/// plan/merge rules.
@Suite("Shard listings, plans and merges")
struct ShardListingTests {
  /// Lists one shard of `server` the way a pair does: its mode, and the next mode on a `ListingOrderError`.
  static func listShard(
    _ server: RangeServer, interval: KeyInterval, boundaries: [String], rangeListers: Int, sorted: Bool = false,
    pageSize: Int = 3
  ) throws -> (keys: [String], edges: ShardEdges?, mode: ListingStrategy.Mode) {
    var strategy = ListingStrategy(rangeListers: rangeListers, sorted: sorted ? [.source] : [])
    while true {
      var target = ListingTarget(client: try PartitionedListingTests.client(server), bucket: "b", pageSize: pageSize)
      target.interval = interval
      target.planBoundaries = boundaries
      let mode = strategy.mode(.source)
      let listing = try strategy.open(
        .source, target: target, resumeFrom: nil, options: PairOptions(), logger: Logger(label: "t"))
      do {
        let keys = try PartitionedListingTests.drain(listing.stream)
        let edges = try listing.shardEdges()
        listing.close()
        return (keys, edges, mode)
      } catch let e as ListingOrderError {
        listing.close()
        guard strategy.fallBack(after: e) != nil else { throw e }
      }
    }
  }

  /// A plan of one pair with `boundaries`, and shard summaries carrying `edges` (the source side).
  static func merged(_ boundaries: [String], edges: [ShardEdges?]) -> (ShardPlan, [RunSummary]) {
    let planned = ShardPlan.Pair(
      name: "p", fingerprint: "f", boundaries: boundaries, estimates: [], as_of: nil, as_of_epoch: nil, probes: [:],
      seconds: 0)
    let plan = ShardPlan(
      id: "x", created_at: "", tool_version: "", manifest: "m", manifest_fingerprint: "f",
      shards: boundaries.count + 1, pairs: [planned],
      outputs: PlanOutputs(summary: "s.json", junit: nil, metrics: nil, reports: ["p.txt"], allow_empty: [false]))
    let shards = edges.map { e in
      var p = PairSummary(
        name: "p", status: .identical, check: "shallow", source: "s", destination: "d", objects_compared: 0,
        only_in_source: 0, only_in_destination: 0, different: 0, errors: 0, duration_seconds: 0, objects_per_second: 0,
        report: "r", sorted_listings: [], worker_restarts: 0, resumed: 0, requests: 0, retries: 0, throttled: 0,
        error: nil)
      p.shard_edges = e.map { ["source": $0] }
      return RunSummary(tool_version: "", started_at: "", finished_at: "", status: .identical, exit_code: 0, pairs: [p])
    }
    return (plan, shards)
  }

  /// Look-alike keys around the boundaries (`a`, `a `, `a!`, `a-c`, `a.b`, `a/b`, `a0`, ...), numbered keys.
  static let keys: [String] = {
    var k = ["a", "a ", "a!", "a-c", "a.b", "a/b", "a/b/c", "a0", "a\u{7F}", "aé", "b", "h1-obj", "h1.obj", "h1/obj"]
    k += (0..<40).map { String(format: "n/%03d", $0) }
    return k
  }()

  @Test(
    "Shards never lose a key silently: on servers in byte order, slash-first (SeaweedFS), ignoring start-after or losing a key after start-after, the shards give every key once, or the merge refuses them (and re-runs that list like their sorted siblings complete them)",
    arguments: [RangeServer.Rule.bytes, .slashFirst, .ignoresStartAfter, .skipsOneAfterStart], [1, 4])
  func shardsCoverEveryKey(rule: RangeServer.Rule, rangeListers: Int) throws {
    let sorted = Self.keys.sorted(by: KeyOrder.less)
    // Boundaries on keys, between look-alikes, beyond every key, before every key, and repeated.
    let plans: [[String]] = [
      ["a-c", "a/b", "h1-obj"], ["a", "a.b", "a0", "n/020"], ["0", "zzz"], ["a/b", "a/b", "n/039"], [""],
      ["a/", "a/b/", "h1/"], ["h1-obj"], ["a!", "h1.obj"],
    ]
    for boundaries in plans {
      func interval(_ i: Int) -> KeyInterval {
        KeyInterval(after: i > 0 ? boundaries[i - 1] : nil, through: i < boundaries.count ? boundaries[i] : nil)
      }
      var all: [String] = []
      var edges: [ShardEdges?] = []
      var modes: [ListingStrategy.Mode] = []
      for i in 0...boundaries.count {
        let server = RangeServer(Self.keys, rule: rule, delay: 0)
        let r = try Self.listShard(server, interval: interval(i), boundaries: boundaries, rangeListers: rangeListers)
        #expect(r.keys.allSatisfy(interval(i).contains), "\(boundaries) shard \(i): \(r.keys)")
        all += r.keys
        edges.append(r.edges)
        modes.append(r.mode)
      }
      let (plan, shards) = Self.merged(boundaries, edges: edges)
      let accepted = (try? ShardMerge.checkEdges(plan: plan, shards: shards)) != nil
      // The merge accepts exactly the shard sets that hold every key.
      #expect(accepted == (all == sorted), "\(rule) \(boundaries): \(modes) \(edges)")
      if rule == .bytes { #expect(accepted && modes.allSatisfy { $0 != .sorted }, "\(boundaries)") }
      // A server out of byte order is found by some shard's own checks (the tail check at its upper bound, or
      // the order guard), which then lists sorted: a re-run of the refused shards converges. (A server that
      // loses a key after start-after in full pages only is refused every time: run such a pair unsharded.)
      if !accepted && rule != .skipsOneAfterStart { #expect(modes.contains(.sorted), "\(boundaries): \(modes)") }
      if !accepted && modes.contains(.sorted) {
        // Re-run: the shards listed in the server's order list like their sorted sibling.
        all = []
        edges = []
        for i in 0...boundaries.count {
          let server = RangeServer(Self.keys, rule: rule, delay: 0)
          let r = try Self.listShard(
            server, interval: interval(i), boundaries: boundaries, rangeListers: rangeListers, sorted: true)
          all += r.keys
          edges.append(r.edges)
        }
        let (plan, shards) = Self.merged(boundaries, edges: edges)
        #expect(all == sorted, "\(boundaries)")
        #expect((try? ShardMerge.checkEdges(plan: plan, shards: shards)) != nil)
      }
    }
  }

  @Test("The sampler estimates numbered keys within a few percent and balances shards, with few requests")
  func samplerNumbered() throws {
    let keys = (0..<200_000).map { String(format: "bulk/obj-%06d", $0) }
    let list: KeySampler.List = { after, maxKeys in
      var lo = 0
      if let after {
        var hi = keys.count
        while lo < hi {
          let mid = (lo + hi) / 2
          if KeyOrder.compare(keys[mid], after) <= 0 { lo = mid + 1 } else { hi = mid }
        }
      }
      return Array(keys[lo..<min(keys.count, lo + maxKeys)])
    }
    for shards in [2, 4, 8] {
      var sampler = KeySampler(samples: 8 * shards)
      let sample = try sampler.sample(list)
      #expect(abs(sample.total - 200_000) < 10_000, "\(sample.total)")
      #expect(sampler.requests < 16 * shards + 40, "\(sampler.requests)")
      let split = KeySampler.boundaries(shards: shards, sides: [sample])
      #expect(split.boundaries.count == shards - 1)
      let counts = (0..<shards).map { i in
        keys.filter {
          KeyInterval(
            after: i > 0 ? split.boundaries[i - 1] : nil, through: i < shards - 1 ? split.boundaries[i] : nil
          ).contains($0)
        }.count
      }
      #expect(counts.reduce(0, +) == keys.count)
      let balance = Double(counts.max()!) / (Double(keys.count) / Double(shards))
      #expect(balance < 1.15, "\(shards) shards: \(counts)")
    }
  }

  @Test("The sampler on skewed, hierarchical and tiny key sets: boundaries rise, ranges cover every key")
  func samplerShapes() throws {
    var rng = SplitMix(seed: 7)
    let skewed = (0..<30_000).map { i in
      i < 25_000 ? "logs/2026/\(String(format: "%05d", i))" : "z/\(rng.next() % 1_000_000)"
    }
    // bench/populate.py's tree keys: the walk once doubled its stride past Int and trapped at 200,000.
    let tree = (0..<100_000).map { i in
      String(format: "d%02d/e%02d/obj-%09d.bin", Int(rng.next() % 32), Int(rng.next() % 32), i)
    }
    let shapes: [[String]] = [
      tree, Array(Set(skewed)), PartitionedListingTests.keys(tree: 5000, flat: 3000, seed: 3), ["only"], [],
      ["a", "b", "c"],
    ]
    for keys in shapes {
      let sorted = keys.sorted(by: KeyOrder.less)
      let server = RangeServer(keys, rule: .bytes, delay: 0)
      let client = try PartitionedListingTests.client(server)
      var sampler = KeySampler(samples: 32)
      let sample = try sampler.sample { prefix, after, maxKeys, delimiter in
        let page = try client.listObjectsV2(
          bucket: "b", prefix: prefix, startAfter: after, maxKeys: maxKeys, delimiter: delimiter)
        return (page.objects.map(\.key), page.commonPrefixes, page.isTruncated)
      }
      if keys.count >= 1000 {
        // Estimates within 25% (the tree's directories sampled, the rest walked), far fewer requests than pages.
        #expect(abs(sample.total - Double(keys.count)) < 0.25 * Double(keys.count), "\(sample.total) of \(keys.count)")
        // A few requests per sample whatever the size: at most 6 per sample and 40 more.
        #expect(sampler.requests < 6 * 32 + 40, "\(sampler.requests) requests for \(keys.count) keys")
        if keys.count == tree.count {
          // The tree: its directories sampled, a small fraction of what listing it in 100-key pages takes.
          #expect(sampler.requests * 100 < keys.count / 5, "\(sampler.requests) requests for the tree")
        }
      }
      let split = KeySampler.boundaries(shards: 4, sides: [sample, sample])
      #expect(split.boundaries.count == 3)
      #expect(zip(split.boundaries, split.boundaries.dropFirst()).allSatisfy { KeyOrder.compare($0, $1) <= 0 })
      #expect(split.estimates.count == 4)
      var covered = 0
      for i in 0..<4 {
        let iv = KeyInterval(after: i > 0 ? split.boundaries[i - 1] : nil, through: i < 3 ? split.boundaries[i] : nil)
        covered += sorted.filter(iv.contains).count
      }
      #expect(covered == sorted.count)
      if sorted.count >= 1000 {
        // Not listed in full: far fewer keys requested than exist.
        #expect(server.requests.count * 100 < sorted.count * 2 / 3 || sorted.count < 10_000, "\(server.requests.count)")
      }
    }
  }

  @Test("The shard index: --shard, else JOB_COMPLETION_INDEX, else AWS_BATCH_JOB_ARRAY_INDEX, never guessed")
  func shardIndex() throws {
    #expect(try ShardPlan.shardIndex(explicit: 2, environment: ["JOB_COMPLETION_INDEX": "1"], shards: 4) == 2)
    #expect(
      try ShardPlan.shardIndex(
        explicit: nil, environment: ["JOB_COMPLETION_INDEX": "1", "AWS_BATCH_JOB_ARRAY_INDEX": "3"], shards: 4) == 1)
    #expect(try ShardPlan.shardIndex(explicit: nil, environment: ["AWS_BATCH_JOB_ARRAY_INDEX": "3"], shards: 4) == 3)
    #expect(throws: ShardError.self) { try ShardPlan.shardIndex(explicit: nil, environment: [:], shards: 4) }
    #expect(throws: ShardError.self) {
      try ShardPlan.shardIndex(explicit: nil, environment: ["JOB_COMPLETION_INDEX": "x"], shards: 4)
    }
    #expect(throws: ShardError.self) { try ShardPlan.shardIndex(explicit: 4, environment: [:], shards: 4) }
  }

  @Test("Merge sums the shards' counts, keeps the unsharded status rule, and refuses shards that do not join up")
  func mergeRules() throws {
    func pair(_ objects: Int, different: Int, first: String?, overshoot: String?) -> PairSummary {
      var p = PairSummary(
        name: "p", status: different > 0 ? .different : .identical, check: "shallow", source: "s", destination: "d",
        objects_compared: objects, only_in_source: 0, only_in_destination: 0, different: different, errors: 0,
        duration_seconds: 2, objects_per_second: 0, report: "r", sorted_listings: [], worker_restarts: 0, resumed: 0,
        requests: 3, retries: 0, throttled: 0, error: nil)
      p.identical = objects - different
      p.shard_edges = ["source": ShardEdges(first: first, overshoot: overshoot)]
      return p
    }
    let planned = ShardPlan.Pair(
      name: "p", fingerprint: "f", boundaries: ["m"], estimates: [1, 1], as_of: nil, as_of_epoch: nil, probes: [:],
      seconds: 0)
    let plan = ShardPlan(
      id: "x", created_at: "", tool_version: "", manifest: "m.yaml", manifest_fingerprint: "f", shards: 2,
      pairs: [planned],
      outputs: PlanOutputs(summary: "s.json", junit: nil, metrics: nil, reports: ["p.txt"], allow_empty: [false]))
    func run(_ p: PairSummary) -> RunSummary {
      RunSummary(tool_version: "", started_at: "a", finished_at: "b", status: p.status, exit_code: 0, pairs: [p])
    }
    let shards = [
      run(pair(10, different: 0, first: "a", overshoot: "n")), run(pair(5, different: 1, first: "n", overshoot: nil)),
    ]
    try ShardMerge.checkEdges(plan: plan, shards: shards)
    let merged = ShardMerge.merge(plan: plan, shards: shards, outputDir: "/o", toolVersion: "t") {
      $0 == .finished(.different) ? 1 : 0
    }
    #expect(merged.summary.pairs[0].objects_compared == 15)
    #expect(merged.summary.pairs[0].identical == 14)
    #expect(merged.summary.pairs[0].status == .different)
    #expect(merged.summary.exit_code == 1)
    #expect(merged.summary.pairs[0].requests == 6)
    #expect(merged.reports[0].parts == ["/o/shards/0/p.txt", "/o/shards/1/p.txt"])
    let gap = [
      run(pair(10, different: 0, first: "a", overshoot: "n")), run(pair(5, different: 0, first: "o", overshoot: nil)),
    ]
    #expect(throws: ShardMerge.Failure.self) { try ShardMerge.checkEdges(plan: plan, shards: gap) }
  }
}
