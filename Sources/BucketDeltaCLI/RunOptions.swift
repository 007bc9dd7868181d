import ArgumentParser
import BucketDelta
import Foundation

/// Options of `compare` and `run` that reach past the replaced tool's flags: safety limits for
/// production stores, TLS, CI outputs and the progress display. In a manifest run they override
/// the manifest's values.
struct RunOptions: ParsableArguments {
  @Option(
    name: .customLong("max_requests_per_second"),
    help: "Cap on requests per second to each endpoint's server, for the whole run (all processes).")
  var maxRequestsPerSecond: Double?
  @Option(
    name: .customLong("ca_bundle"),
    help: "PEM file of CA certificates to trust for HTTPS endpoints (default: $AWS_CA_BUNDLE, else the system's).")
  var caBundle: String?
  @Flag(
    name: .customLong("insecure_skip_tls_verify"), help: "Do not verify HTTPS certificates (warned about on every run)."
  )
  var insecureSkipTLSVerify = false
  @Option(
    name: .customLong("junit"),
    help: "Also write a JUnit XML file: one test case per pair, failed when it differs or errored.")
  var junit: String?
  @Option(
    name: .customLong("html"),
    help:
      "Also write a self-contained HTML sign-off page: the verdict, a row per pair, the first differences and the evidence (written also when the run fails)."
  )
  var html: String?
  @Option(
    name: .customLong("metrics-file"),
    help: "Also write a Prometheus textfile (node_exporter textfile collector) with per-pair gauges.")
  var metricsFile: String?
  @Flag(inversion: .prefixedNo, help: "Show a live progress line (default: only when stderr is a terminal).")
  var progress: Bool?
  @Flag(
    name: .customLong("allow_empty"),
    help:
      "Accept a pair whose two listings are both empty (status empty, exit 0); without it such a pair fails with exit 2."
  )
  var allowEmpty = false
  @Option(
    name: .customLong("verify"),
    help:
      "How far content is proven: etag (sizes and ETags; default for shallow checks), checksum (also HeadObject checksums of keys ETags cannot decide; default for deep checks) or content (also the bytes of keys checksums cannot decide, one side read where that proves it)."
  )
  var verify: VerifyLevel?
  @Option(
    name: .customLong("content_scope"),
    help: "With --verify content: read only the keys the lower levels leave unverified (default), or all of them.")
  var contentScope: ContentScope?
  @Flag(
    name: .customLong("report_matches"),
    help: "Also list identical keys in the report, each with how it was verified (for auditors).")
  var reportMatches = false
  @Option(
    name: .customLong("source_inventory"),
    help:
      "Read the source's objects from its S3 Inventory instead of listing it: s3://BUCKET/KEY/manifest.json, s3://BUCKET/CONFIG_PREFIX/ (the newest dated folder) or a local copy; its creationTimestamp is the default --as_of."
  )
  var sourceInventory: String?
  @Option(
    name: .customLong("destination_inventory"),
    help: "The same for the destination.")
  var destinationInventory: String?
  @Option(
    name: .customLong("as_of"),
    help:
      "Judge the data as of this instant: objects changed after it on either side are counted as changed_after_cutoff, not compared (RFC 3339 instant with a zone, a duration before the run's start such as 15m or 2h, or run_start)."
  )
  var asOf: String?
  @Flag(name: .customLong("report_skipped"), help: "Also list the keys changed after the as-of cutoff in the report.")
  var reportSkipped = false
  @Option(
    name: .customLong("include"),
    help:
      "Compare only keys matching this glob (relative to the prefix; * within a segment, ** across, ?, [...], {a,b}); repeatable, evaluated with --exclude in the order given, the first match decides."
  )
  var include: [String] = []
  @Option(name: .customLong("exclude"), help: "Leave out keys matching this glob (repeatable; see --include).")
  var exclude: [String] = []
  @Flag(
    name: .customLong("versions"),
    help:
      "Compare version histories (ListObjectVersions), not only the latest versions: missing, extra and changed versions and delete markers."
  )
  var versions = false
  @Option(
    name: .customLong("compare_delete_markers"),
    help: "With --versions: whether delete markers take part (default true).")
  var compareDeleteMarkers: BoolArgument?
  @Option(
    name: .customLong("extra_destination_versions"),
    help: "With --versions: report (default) or allow destination versions the source's history lacks.")
  var extraDestinationVersions: ExtraVersions?
  @Option(
    name: .customLong("ignore"),
    help:
      "Leave a deep-check field out of the comparison (repeatable): content_type, cache_control, content_disposition, content_encoding, content_language, expires, metadata, metadata.NAME, tags, tag.NAME, object_lock, legal_hold, retention."
  )
  var ignore: [String] = []

  /// The --include/--exclude rules in the order they were given on `arguments` (ArgumentParser keeps
  /// each flag's values apart); when that cannot be read back, all excludes, then all includes.
  func filterRules(arguments: [String] = CommandLine.arguments) -> [KeyFilter.Rule] {
    var rules: [KeyFilter.Rule] = []
    var i = 0
    while i < arguments.count {
      let a = arguments[i]
      for (flag, make) in [("--include", KeyFilter.Rule.include), ("--exclude", KeyFilter.Rule.exclude)] {
        if a == flag, i + 1 < arguments.count {
          rules.append(make(arguments[i + 1]))
          i += 1
        } else if a.hasPrefix(flag + "=") {
          rules.append(make(String(a.dropFirst(flag.count + 1))))
        }
      }
      i += 1
    }
    let expected = exclude.map(KeyFilter.Rule.exclude) + include.map(KeyFilter.Rule.include)
    let sameRules = rules.count == expected.count && Set(rules.map(\.description)) == Set(expected.map(\.description))
    return sameRules ? rules : expected
  }

  /// Applies the options to `m`; returns the problems with their values.
  func apply(to m: inout Manifest) -> [String] {
    var problems: [String] = []
    var asOfValue: AsOf?
    var inventories: [(WritableKeyPath<PairConfig, PairSide>, InventoryLocation)] = []
    for (flag, value, side) in [
      ("--source_inventory", sourceInventory, \PairConfig.source),
      ("--destination_inventory", destinationInventory, \PairConfig.destination),
    ] {
      guard let value else { continue }
      if let loc = InventoryLocation.parse(value) {
        inventories.append((side, loc))
      } else {
        problems.append(
          "\(flag) must be s3://BUCKET/KEY/manifest.json, s3://BUCKET/PREFIX/ or a local path, got '\(value)'")
      }
    }
    if let asOf {
      asOfValue = AsOf.parse(asOf)
      if asOfValue == nil { problems.append("--as_of must be \(AsOf.expected), got '\(asOf)'") }
    }
    let rules = filterRules()
    if case .failure(let e) = KeyFilter.make(rules) { problems.append("--include/--exclude: \(e)") }
    var ignored: IgnoredFields?
    if !ignore.isEmpty {
      switch IgnoredFields.parse(ignore) {
      case .success(let v): ignored = v
      case .failure(let e): problems.append("--ignore: \(e)")
      }
    }
    if let v = maxRequestsPerSecond {
      if v > 0 && v.isFinite {
        for k in m.endpoints.keys { m.endpoints[k]!.maxRequestsPerSecond = v }
      } else {
        problems.append("--max_requests_per_second must be a positive number, got \(v)")
      }
    }
    if let ca = caBundle {
      if FileManager.default.isReadableFile(atPath: ca) {
        for k in m.endpoints.keys { m.endpoints[k]!.tls.caBundle = ca }
      } else {
        problems.append("--ca_bundle: cannot read '\(ca)'")
      }
    }
    if insecureSkipTLSVerify {
      for k in m.endpoints.keys { m.endpoints[k]!.tls.verify = false }
    }
    for i in m.pairs.indices {
      if allowEmpty { m.pairs[i].allowEmpty = true }
      if let verify { m.pairs[i].verify = verify }
      if let contentScope { m.pairs[i].contentScope = contentScope }
      if reportMatches { m.pairs[i].reportMatches = true }
      if let asOfValue { m.pairs[i].asOf = asOfValue }
      if reportSkipped { m.pairs[i].reportSkipped = true }
      if !rules.isEmpty { m.pairs[i].filterRules = rules }
      if let ignored { m.pairs[i].ignore = ignored }
      if versions { m.pairs[i].versions = true }
      if let v = compareDeleteMarkers { m.pairs[i].compareDeleteMarkers = v.value }
      if let v = extraDestinationVersions { m.pairs[i].extraDestinationVersions = v }
      for (side, loc) in inventories { m.pairs[i][keyPath: side].inventory = loc }
    }
    if let j = junit { m.output.junit = j }
    if let f = metricsFile { m.output.metricsFile = f }
    if let h = html { m.output.html = h }
    return problems
  }
}
