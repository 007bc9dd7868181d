import Foundation
import Logging
import S3

/// A comparison split into shards (`bucket-delta plan`): for every pair N-1 boundary keys cutting its key
/// space into N contiguous ranges, shard *i* comparing range *i* of every pair (`run --plan --shard I`) and
/// `merge` joining them. Range *i* is `(boundaries[i-1], boundaries[i]]` in UTF-8 byte order, the first
/// open below and the last open above, so the ranges cover every key whatever the estimate was: a bad
/// estimate costs balance, never correctness.
public struct ShardPlan: Codable, Sendable, Equatable {
  public static let kind = "bucket-delta-shard-plan"
  public var kind = ShardPlan.kind
  public var version = 1
  /// Names this plan in every shard's summary: the manifest's fingerprint and every boundary.
  public var id: String
  public var created_at: String
  public var tool_version: String
  public var manifest: String
  /// The fingerprint of the pairs as planned (endpoints, buckets, prefixes, check, filters, ...).
  public var manifest_fingerprint: String
  public var shards: Int

  public struct Pair: Codable, Sendable, Equatable {
    public var name: String
    public var fingerprint: String
    /// N-1 non-decreasing keys (relative to each side's prefix).
    public var boundaries: [String]
    /// Estimated objects per range, both sides together.
    public var estimates: [Int]
    /// The as-of cutoff, resolved once when planning, so that every shard judges against one instant.
    public var as_of: String?
    public var as_of_epoch: Int64?
    /// Listing requests the estimate sent, per side, and how long it took.
    public var probes: [String: Int]
    public var seconds: Double
  }
  public var pairs: [Pair]
  /// The output names `merge` writes (it reads no manifest).
  public var outputs: PlanOutputs

  /// Range `shard` of the pair `p`.
  public static func interval(_ p: Pair, shard: Int) -> KeyInterval {
    KeyInterval(
      after: shard > 0 ? p.boundaries[shard - 1] : nil, through: shard < p.boundaries.count ? p.boundaries[shard] : nil)
  }

  public static func identity(fingerprint: String, pairs: [Pair]) -> String {
    CheckpointStore.fingerprint([fingerprint] + pairs.flatMap { [$0.name] + $0.boundaries + [$0.as_of ?? "-"] })
  }

  public static func load(_ path: String) throws -> ShardPlan {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ShardError(
        "cannot read the plan \(path): no such file (make one with `bucket-delta plan MANIFEST --shards N --output \(path)`)"
      )
    }
    let plan: ShardPlan
    do {
      plan = try JSONDecoder().decode(ShardPlan.self, from: data)
    } catch {
      throw ShardError("\(path) is not a bucket-delta plan: \(error)")
    }
    guard plan.kind == ShardPlan.kind, plan.version == 1 else {
      throw ShardError("\(path) is not a version 1 bucket-delta plan (kind \(plan.kind), version \(plan.version))")
    }
    for p in plan.pairs {
      guard p.boundaries.count == plan.shards - 1,
        zip(p.boundaries, p.boundaries.dropFirst()).allSatisfy({ KeyOrder.compare($0, $1) <= 0 })
      else {
        throw ShardError(
          "\(path): pair \(p.name) needs \(plan.shards - 1) non-decreasing boundaries for \(plan.shards) shards, it has \(p.boundaries.count)"
        )
      }
    }
    guard plan.id == identity(fingerprint: plan.manifest_fingerprint, pairs: plan.pairs) else {
      throw ShardError(
        "\(path): its boundaries or cutoffs were changed after planning (the id does not match); plan again")
    }
    return plan
  }

  public func write(to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    var data = try encoder.encode(self)
    data.append(0x0A)
    try writeAtomically(data: Array(data), to: path, mode: 0o644)
  }

  /// The shard index of this process: `explicit`, else Kubernetes' `JOB_COMPLETION_INDEX`, else AWS Batch's
  /// `AWS_BATCH_JOB_ARRAY_INDEX`; never guessed.
  public static func shardIndex(explicit: Int?, environment: [String: String], shards: Int) throws -> Int {
    let variables = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"]
    let index: Int
    let from: String
    if let explicit {
      index = explicit
      from = "--shard"
    } else if let name = variables.first(where: { environment[$0].map { !$0.isEmpty } ?? false }) {
      guard let i = Int(environment[name]!) else {
        throw ShardError("\(name)=\(environment[name]!) is not a shard index (a whole number from 0)")
      }
      index = i
      from = name
    } else {
      throw ShardError(
        "--plan needs the shard to run: pass --shard I (0 to \(shards - 1)), or run under a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or an AWS Batch array job (AWS_BATCH_JOB_ARRAY_INDEX)"
      )
    }
    guard (0..<shards).contains(index) else {
      throw ShardError("\(from)=\(index): the plan has \(shards) shards, 0 to \(shards - 1)")
    }
    return index
  }
}

public struct ShardError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Where one shard run stands in the summary it writes (`shard`), for `merge`.
public struct ShardMark: Codable, Sendable, Equatable {
  public var plan_id: String
  public var index: Int
  public var of: Int
}

/// Estimates how the keys of one listing spread, from a few listing requests, not a full listing.
///
/// It walks the listing with small probe pages, jumping ahead between them: from a page of keys `f...l`
/// the next probe lists after `KeyMidpoint.extrapolate(f, l, pages: stride)`, the key about `stride` pages
/// further at the page's density (counting runs of digits as numbers, so numbered keys jump exactly). A
/// first walk doubles the stride at every step to find the listing's size in a logarithmic number of
/// probes; a second walks again with the stride that gives about `samples` probes, so that samples are
/// spread evenly over the objects, not over the byte space. A probe past the end halves the stride. Each
/// probe's first key gets the rank the walk estimated for it; the keys of a probe page have exact ranks
/// after it. Key shapes the extrapolation cannot continue (no printable next byte) fall back to byte
/// midpoints, which balances them less well.
public struct KeySampler {
  /// Lists up to `maxKeys` keys after `after` (nil: from the start), relative to the side's prefix.
  public typealias List = (_ after: String?, _ maxKeys: Int) throws -> [String]

  /// A probe page: its keys and the estimated rank of its first key.
  public struct Sample: Equatable {
    public var rank: Double
    public var keys: [String]
  }

  public let pageKeys: Int
  public let samples: Int
  static let maxStride = Double(1 << 26)
  public private(set) var requests = 0

  public init(pageKeys: Int = 100, samples: Int) {
    self.pageKeys = max(2, pageKeys)
    self.samples = max(1, samples)
  }

  /// The probe pages of one walk with `stride` pages between probes (`galloping`: doubled at every step),
  /// and the estimated number of keys.
  mutating func walk(_ list: List, stride: Double, galloping: Bool) throws -> (samples: [Sample], total: Double) {
    var out: [Sample] = []
    var page = try list(nil, pageKeys)
    requests += 1
    var rank = 0.0
    var step = min(Self.maxStride, max(1, stride))
    // Points known to have nothing after them: jumps stay below the smallest.
    var end: String? = nil
    while !page.isEmpty {
      out.append(Sample(rank: rank, keys: page))
      let first = page[0]
      let last = page[page.count - 1]
      if page.count < pageKeys { return (out, rank + Double(page.count)) }
      var next: [String] = []
      var jumped = 0.0
      while true {
        // Fewer than two pages ahead: the next page itself (exact).
        var target: String? = nil
        if step >= 2 {
          target =
            KeyMidpoint.extrapolate(from: first, to: last, pages: Int(step) - 1, below: end)
            ?? KeyMidpoint.between(last, end)
        }
        next = try list(target ?? last, pageKeys)
        requests += 1
        if !next.isEmpty || target == nil {
          jumped = target == nil ? 0 : (step - 1) * Double(pageKeys)
          break
        }
        end = target
        step = (step / 2).rounded(.down)
      }
      rank += Double(page.count) + jumped
      page = next
      // Capped: 2^26 pages of 100 keys is 6.7 billion keys, past any bucket (and within Int).
      if galloping { step = min(KeySampler.maxStride, max(2, step * 2)) }
    }
    return (out, rank)
  }

  /// Samples of the whole listing: a galloping walk for its size, then an even walk.
  public mutating func sample(_ list: List) throws -> (samples: [Sample], total: Double) {
    let first = try walk(list, stride: 1, galloping: true)
    // One page holds it all: exact.
    if first.samples.count <= 1 || samples == 1 { return first }
    return try walk(list, stride: max(1, first.total / Double(pageKeys) / Double(samples)), galloping: false)
  }

  /// Lists under `prefix` (relative to the side's prefix) after `after`, up to `maxKeys`; with a delimiter
  /// also the CommonPrefixes.
  public typealias Lister = (_ prefix: String, _ after: String?, _ maxKeys: Int, _ delimiter: String?) throws -> (
    keys: [String], prefixes: [String], truncated: Bool
  )

  /// Samples of a listing organised in directories: their sizes sampled, else the walk of `sample(_:)`.
  ///
  /// Why: the walk jumps well inside runs of numbered keys, but in a tree (`dNN/eNN/obj-N`, 200 keys per
  /// directory) every jump leaves its directory, so it either lists nearly everything or guesses wildly: on a
  /// 200,000-object tree pair it sent 1,145 requests per bucket for estimates 2,880 times too large. When
  /// the first levels are directories only (no object beside them), the directories of the shallowest level
  /// with at least `4 * samples` of them (at most 3 levels, at most 64 listings per level) are the strata;
  /// `samples` of them, evenly spread, are walked, and each of the others is given the mean size of the
  /// two nearest walked ones.
  public mutating func sample(lister: Lister) throws -> (samples: [Sample], total: Double) {
    if let strata = try strata(lister), strata.count >= 2 {
      return try sampleStrata(strata, lister)
    }
    return try sample { after, maxKeys in try lister("", after, maxKeys, nil).keys }
  }

  private mutating func strata(_ lister: Lister) throws -> [String]? {
    var level = [""]
    for depth in 0..<3 {
      var next: [String] = []
      for parent in level {
        let page = try lister(parent, nil, 1000, "/")
        requests += 1
        // Objects beside the directories: not a tree of directories (the walk decides).
        guard page.keys.isEmpty else { return nil }
        next += page.prefixes
      }
      if next.count < 2 { return nil }
      if next.count >= 4 * samples || depth == 2 || next.count > 64 { return next }
      level = next
    }
    return nil
  }

  private mutating func sampleStrata(_ strata: [String], _ lister: Lister) throws -> (samples: [Sample], total: Double)
  {
    let count = min(strata.count, samples)
    let picked = Set((0..<count).map { ($0 * strata.count + strata.count / 2) / count })
    var sizes = [Double?](repeating: nil, count: strata.count)
    var inner: [Int: [Sample]] = [:]
    for i in picked.sorted() {
      var sub = KeySampler(pageKeys: pageKeys, samples: 4)
      let p = strata[i]
      let walked = try sub.sample { after, maxKeys in try lister(p, after, maxKeys, nil).keys }
      requests += sub.requests
      sizes[i] = walked.total
      inner[i] = walked.samples
    }
    var out: [Sample] = []
    var rank = 0.0
    for i in strata.indices {
      let size: Double
      if let s = sizes[i] {
        size = s
        out += (inner[i] ?? []).map { Sample(rank: rank + $0.rank, keys: $0.keys) }
      } else {
        let before = sizes[..<i].last(where: { $0 != nil }) ?? nil
        let after = sizes[(i + 1)...].first(where: { $0 != nil }) ?? nil
        size =
          [before, after].compactMap { $0 }.reduce(0, +) / Double(max(1, [before, after].compactMap { $0 }.count))
        // The directory itself as a boundary candidate: keys at or below it are the ones before it.
        out.append(Sample(rank: rank, keys: [strata[i]]))
      }
      rank += size
    }
    return (out, rank)
  }

  /// Exact samples of an inventory's keys under `prefix`: every key's rank is known once its rows are
  /// sorted; a key every `step` is kept, `step` doubling whenever 262,144 are held (bounded memory).
  static func quantiles(of snapshot: InventorySnapshot, prefix: String, directory: URL) throws -> (
    samples: [Sample], total: Double
  ) {
    let rows = InventoryListing(snapshot, prefix: prefix, directory: directory.appendingPathComponent("files"))
    let sorted = try ExternalSorter(runSize: 200_000, directory: directory.appendingPathComponent("sort")).sorted(rows)
    defer {
      sorted.close()
      try? FileManager.default.removeItem(at: directory)
    }
    var kept: [Sample] = []
    var step = 1
    var count = 0
    while let o = try sorted.next() {
      if count % step == 0 {
        kept.append(Sample(rank: Double(count), keys: [o.key]))
        if kept.count >= 262_144 {
          kept = kept.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
          step *= 2
        }
      }
      count += 1
    }
    return (kept, Double(count))
  }

  /// The estimated number of keys at or below `key` in `samples`.
  public static func rank(of key: String, in samples: [Sample]) -> Double {
    var lo = 0
    var hi = samples.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if KeyOrder.compare(samples[mid].keys[0], key) <= 0 { lo = mid + 1 } else { hi = mid }
    }
    guard lo > 0 else { return 0 }
    let s = samples[lo - 1]
    let within = s.keys.reduce(0) { $0 + (KeyOrder.compare($1, key) <= 0 ? 1 : 0) }
    return s.rank + Double(within)
  }

  /// N-1 boundaries splitting the keys of both sides into N ranges of about equal counts, from the sampled
  /// keys, and the estimated count per range.
  public static func boundaries(shards: Int, sides: [(samples: [Sample], total: Double)]) -> (
    boundaries: [String], estimates: [Int]
  ) {
    guard shards > 1 else { return ([], [Int(sides.reduce(0) { $0 + $1.total }.rounded())]) }
    var candidates = Array(Set(sides.flatMap { $0.samples.flatMap(\.keys) }))
    candidates.sort { KeyOrder.compare($0, $1) < 0 }
    func combined(_ k: String) -> Double { sides.reduce(0) { $0 + rank(of: k, in: $1.samples) } }
    let total = sides.reduce(0) { $0 + $1.total }
    let ranks = candidates.map(combined)
    var out: [String] = []
    var from = 0
    for i in 1..<shards {
      let want = total * Double(i) / Double(shards)
      guard !candidates.isEmpty else {
        out.append("")
        continue
      }
      // The first candidate at or above the wanted rank, or the one just before it if nearer.
      var j = from
      while j < candidates.count - 1 && ranks[j] < want { j += 1 }
      if j > from, abs(ranks[j - 1] - want) < abs(ranks[j] - want) { j -= 1 }
      out.append(candidates[j])
      from = j
    }
    var estimates: [Int] = []
    var previous = 0.0
    for b in out {
      let r = b.isEmpty ? 0 : combined(b)
      estimates.append(Int((r - previous).rounded()))
      previous = r
    }
    estimates.append(Int((total - previous).rounded()))
    return (out, estimates)
  }
}
