import Foundation
import S3

/// Decodes a manifest strictly: unknown keys, wrong types, unknown endpoints, duplicate pair names,
/// unknown versions, inline secrets and unset environment variables are all collected, each with
/// its line and column, before anything is contacted.
public struct ManifestDecoder {
  public var file: String
  public var environment: [String: String]
  /// Reads files the manifest names (the shared credentials file, CA bundles); injected for tests.
  public var readFile: (String) -> String? = CredentialChain.readTextFile
  private var diagnostics: [ManifestDiagnostic] = []

  public init(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
    self.file = file
    self.environment = environment
  }

  /// Reads and decodes the manifest at `file`.
  public static func load(file: String, environment: [String: String] = ProcessInfo.processInfo.environment)
    throws(ManifestError) -> Manifest
  {
    guard let data = FileManager.default.contents(atPath: file) else {
      throw ManifestError(diagnostics: [
        ManifestDiagnostic(file: file, mark: nil, path: "", message: "cannot read the file")
      ])
    }
    guard let text = String(validating: Array(data), as: UTF8.self) else {
      throw ManifestError(diagnostics: [
        ManifestDiagnostic(file: file, mark: nil, path: "", message: "the file is not UTF-8 text")
      ])
    }
    var d = ManifestDecoder(file: file, environment: environment)
    return try d.decode(text)
  }

  private mutating func error(_ node: YAMLNode?, _ path: String, _ message: String) {
    diagnostics.append(ManifestDiagnostic(file: file, mark: node?.mark, path: path, message: message))
  }

  /// Decodes manifest text.
  public mutating func decode(_ text: String) throws(ManifestError) -> Manifest {
    let root: YAMLNode?
    do {
      root = try YAMLDocument.parse(text)
    } catch {
      throw ManifestError(diagnostics: [
        ManifestDiagnostic(file: file, mark: error.mark, path: "", message: "invalid YAML: \(error.message)")
      ])
    }
    guard let root, case .mapping = root else {
      throw ManifestError(diagnostics: [
        ManifestDiagnostic(
          file: file, mark: root?.mark, path: "",
          message: "the manifest must be a mapping with version, endpoints and pairs")
      ])
    }
    let top = fields(root, "", allowed: ["version", "endpoints", "defaults", "output", "pairs"])

    if let v = top["version"] {
      if let n = int(v, "version"), n != Manifest.supportedVersion {
        error(
          v, "version", "version \(n) is not supported by this build (it reads version \(Manifest.supportedVersion))")
      }
    } else {
      error(root, "version", "is required (version: 1)")
    }

    var endpoints: [String: EndpointConfig] = [:]
    var declared: [String] = []
    if let eps = top["endpoints"] {
      if case .mapping(let entries, _) = eps {
        if entries.isEmpty { error(eps, "endpoints", "must name at least one endpoint") }
        for (k, v) in entries {
          guard let name = scalar(k, "endpoints") else { continue }
          declared.append(name)
          if endpoints[name] != nil { error(k, "endpoints.\(name)", "is defined twice") }
          if let ep = endpoint(v, name: name) { endpoints[name] = ep }
        }
      } else {
        error(eps, "endpoints", "must be a mapping of endpoint names, got \(eps.kindName)")
      }
    } else {
      error(root, "endpoints", "is required")
    }

    var tuning = Tuning()
    // The defaults every pair starts from (its name and sides are set per pair).
    var template = PairConfig(
      name: "", source: PairSide(endpoint: "", bucket: ""), destination: PairSide(endpoint: "", bucket: ""),
      check: .shallow, compareObjectTags: true)
    if let defs = top["defaults"] {
      let f = fields(defs, "defaults", allowed: Set(Self.pairSettings.map(\.key) + ["tuning"]))
      applyPairSettings(f, "defaults", to: &template)
      if let t = f["tuning"] { tuning = decodeTuning(t) }
    }

    var output = OutputConfig(dir: "reports", format: .text, summary: nil)
    var summarySet = false
    if let out = top["output"] {
      let f = fields(out, "output", allowed: ["dir", "format", "summary", "junit", "metrics_file", "html"])
      if let h = f["html"], let v = nonEmpty(h, "output.html") { output.html = v }
      if let j = f["junit"], let v = nonEmpty(j, "output.junit") { output.junit = v }
      if let m = f["metrics_file"], let v = nonEmpty(m, "output.metrics_file") { output.metricsFile = v }
      if let d = f["dir"], let v = nonEmpty(d, "output.dir") { output.dir = v }
      if let fm = f["format"], let v = enumValue(fm, "output.format", ReportFormat.self) { output.format = v }
      if let s = f["summary"], let v = nonEmpty(s, "output.summary") {
        output.summary = v
        summarySet = true
      }
    }
    if !summarySet { output.summary = (output.dir as NSString).appendingPathComponent("summary.json") }

    var pairs: [PairConfig] = []
    if let ps = top["pairs"] {
      if case .sequence(let items, _) = ps {
        if items.isEmpty { error(ps, "pairs", "must list at least one pair") }
        var seen: [String: SourceMark] = [:]
        for (i, item) in items.enumerated() {
          let path = "pairs[\(i)]"
          let f = fields(item, path, allowed: Set(Self.pairSettings.map(\.key) + ["name", "source", "destination"]))
          guard case .mapping = item else { continue }
          var name = "pair-\(i + 1)"
          if let n = f["name"], let v = nonEmpty(n, "\(path).name") {
            if v.range(of: "^[A-Za-z0-9][A-Za-z0-9._-]*$", options: .regularExpression) == nil {
              error(
                n, "\(path).name", "'\(v)' may hold only letters, digits, '.', '_' and '-' (it names the report file)")
            } else if let first = seen[v] {
              error(n, "\(path).name", "'\(v)' is already the name of the pair at line \(first.line)")
            } else {
              seen[v] = n.mark
            }
            name = v
          } else if f["name"] == nil {
            error(item, "\(path).name", "is required")
          }
          let src = side(f["source"], "\(path).source", declared: declared, parent: item)
          let dst = side(f["destination"], "\(path).destination", declared: declared, parent: item)
          var pair = template
          applyPairSettings(f, path, to: &pair)
          if let src, let dst {
            pair.name = name
            pair.source = src
            pair.destination = dst
            pairs.append(pair)
          }
        }
      } else {
        error(ps, "pairs", "must be a list, got \(ps.kindName)")
      }
    } else {
      error(root, "pairs", "is required")
    }

    if !diagnostics.isEmpty {
      throw ManifestError(
        diagnostics: diagnostics.sorted {
          ($0.mark?.line ?? 0, $0.mark?.column ?? 0) < ($1.mark?.line ?? 0, $1.mark?.column ?? 0)
        })
    }
    return Manifest(endpoints: endpoints, tuning: tuning, output: output, pairs: pairs)
  }

  // MARK: - Pair settings

  /// The settings a pair takes, in `defaults` or per pair (a pair's value replaces the default): one row
  /// each, so that a new setting is one row (plus its `PairConfig` property, and its flag).
  static let pairSettings:
    [(key: String, decode: @Sendable (inout ManifestDecoder, YAMLNode, String, inout PairConfig) -> Void)] = [
      ("check", { d, n, p, c in if let v = d.enumValue(n, p, CheckDepth.self) { c.check = v } }),
      ("compare_object_tags", { d, n, p, c in if let v = d.bool(n, p) { c.compareObjectTags = v } }),
      ("allow_empty", { d, n, p, c in if let v = d.bool(n, p) { c.allowEmpty = v } }),
      ("verify", { d, n, p, c in if let v = d.enumValue(n, p, VerifyLevel.self) { c.verify = v } }),
      ("content_scope", { d, n, p, c in if let v = d.enumValue(n, p, ContentScope.self) { c.contentScope = v } }),
      ("report_matches", { d, n, p, c in if let v = d.bool(n, p) { c.reportMatches = v } }),
      ("report_skipped", { d, n, p, c in if let v = d.bool(n, p) { c.reportSkipped = v } }),
      ("versions", { d, n, p, c in if let v = d.bool(n, p) { c.versions = v } }),
      ("compare_delete_markers", { d, n, p, c in if let v = d.bool(n, p) { c.compareDeleteMarkers = v } }),
      (
        "extra_destination_versions",
        { d, n, p, c in if let v = d.enumValue(n, p, ExtraVersions.self) { c.extraDestinationVersions = v } }
      ),
      (
        "as_of",
        { d, n, p, c in
          guard let text = d.string(n, p) else { return }
          guard let v = AsOf.parse(text) else { return d.error(n, p, "must be \(AsOf.expected), got '\(text)'") }
          c.asOf = v
        }
      ),
      (
        "ignore",
        { d, n, p, c in
          guard let names = d.stringList(n, p) else { return }
          switch IgnoredFields.parse(names) {
          case .success(let v): c.ignore = v
          case .failure(let e): d.error(n, p, e.description)
          }
        }
      ),
      // Filters: `include`/`exclude` lists (all excludes, then all includes) or one ordered `filters` list;
      // a pair that gives any of them replaces the default rules (see `applyPairSettings`).
      ("include", { d, n, p, c in if let v = d.stringList(n, p) { c.filterRules += v.map { .include($0) } } }),
      (
        "exclude",
        { d, n, p, c in if let v = d.stringList(n, p) { c.filterRules = v.map { .exclude($0) } + c.filterRules } }
      ),
      (
        "filters",
        { d, n, p, c in
          guard case .sequence(let items, _) = n else {
            return d.error(n, p, "must be a list of {include: PATTERN} or {exclude: PATTERN}, got \(n.kindName)")
          }
          for (i, item) in items.enumerated() {
            let f = d.fields(item, "\(p)[\(i)]", allowed: ["include", "exclude"])
            guard f.count == 1, let (kind, node) = f.first, let pattern = d.nonEmpty(node, "\(p)[\(i)].\(kind)") else {
              if f.count > 1 { d.error(item, "\(p)[\(i)]", "must hold one of include or exclude, not both") }
              continue
            }
            c.filterRules.append(kind == "include" ? .include(pattern) : .exclude(pattern))
          }
        }
      ),
    ]

  /// Applies the pair settings found in `f` (a `defaults` or pair mapping at `path`) to `config`.
  private mutating func applyPairSettings(_ f: [String: YAMLNode], _ path: String, to config: inout PairConfig) {
    let filterKeys = ["include", "exclude", "filters"].filter { f[$0] != nil }
    if !filterKeys.isEmpty { config.filterRules = [] }
    if filterKeys.contains("filters"), filterKeys.count > 1 {
      error(f["filters"], "\(path).filters", "give either filters or include/exclude, not both")
    }
    for row in Self.pairSettings {
      guard let node = f[row.key] else { continue }
      row.decode(&self, node, "\(path).\(row.key)", &config)
    }
    if !filterKeys.isEmpty, case .failure(let e) = KeyFilter.make(config.filterRules) {
      // The list that holds the bad pattern.
      let isInclude = config.filterRules.contains(.include(e.pattern))
      let key = f["filters"] != nil ? "filters" : isInclude && f["include"] != nil ? "include" : filterKeys.last!
      error(f[key], "\(path).\(key)", "\(e)")
    }
  }

  private mutating func stringList(_ node: YAMLNode, _ path: String) -> [String]? {
    guard case .sequence(let items, _) = node else {
      error(node, path, "must be a list, got \(node.kindName)")
      return nil
    }
    var out: [String] = []
    for (i, item) in items.enumerated() {
      guard let s = nonEmpty(item, "\(path)[\(i)]") else { return nil }
      out.append(s)
    }
    return out
  }

  // MARK: - Pieces

  private mutating func decodeTuning(_ node: YAMLNode) -> Tuning {
    var t = Tuning()
    let f = fields(node, "defaults.tuning", allowed: Set(TuningSetting.all.map(\.key)))
    for setting in TuningSetting.all {
      guard let n = f[setting.key] else { continue }
      let path = "defaults.tuning.\(setting.key)"
      let problem: String?
      if case .scalar(let word, _, _) = n, setting.words[word] != nil {
        problem = setting.set(word: word, in: &t)
      } else if setting.isInteger {
        guard let v = int(n, path) else { continue }
        problem = setting.set(v, in: &t)
      } else {
        guard let v = number(n, path) else { continue }
        problem = setting.set(v, in: &t)
      }
      if let problem { error(n, path, problem) }
    }
    return t
  }

  private mutating func endpoint(_ node: YAMLNode, name: String) -> EndpointConfig? {
    let path = "endpoints.\(name)"
    for secret in ["access_key", "secret_key", "session_token", "secret_access_key", "access_key_id"] {
      if case .mapping(let entries, _) = node,
        let e = entries.first(where: { if case .scalar(secret, _, _) = $0.key { return true } else { return false } })
      {
        error(
          e.key, "\(path).\(secret)",
          "secrets are not accepted in a manifest: name an environment variable with \(secret.hasPrefix("session") ? "session_token_env" : secret.hasPrefix("secret") ? "secret_key_env" : "access_key_env")"
        )
      }
    }
    let f = fields(
      node, path,
      allowed: [
        "url", "region", "addressing_style", "access_key_env", "secret_key_env", "session_token_env", "profile",
        "max_requests_per_second", "ca_bundle", "insecure_skip_tls_verify", "tagging_count_header",
      ],
      ignoring: ["access_key", "secret_key", "session_token", "secret_access_key", "access_key_id"])
    guard case .mapping = node else { return nil }
    var ok = true
    var region = "us-east-1"
    if let r = f["region"], let v = nonEmpty(r, "\(path).region") { region = v }
    var style = AddressingStyle.path
    if let a = f["addressing_style"], let v = enumValue(a, "\(path).addressing_style", AddressingStyle.self) {
      style = v
    }
    var url = ""
    var parsed: S3Endpoint?
    if let u = f["url"], let v = nonEmpty(u, "\(path).url") {
      do {
        parsed = try S3Endpoint(url: v, region: region, addressing: style)
        url = v
      } catch {
        self.error(u, "\(path).url", error.description)
        ok = false
      }
    } else {
      if f["url"] == nil { error(node, "\(path).url", "is required") }
      ok = false
    }
    func envName(_ key: String) -> String? { f[key].flatMap { nonEmpty($0, "\(path).\(key)") } }
    let request = CredentialChain.Request(
      accessKeyEnv: envName("access_key_env"), secretKeyEnv: envName("secret_key_env"),
      sessionTokenEnv: envName("session_token_env"), profile: f["profile"].flatMap { nonEmpty($0, "\(path).profile") })
    var credentials: CredentialChain.Resolved?
    switch CredentialChain(environment: environment, readFile: readFile).resolve(request) {
    case .success(let r): credentials = r
    case .failure(let e) where !e.fields.isEmpty:
      for (field, message) in e.fields { error(f[field] ?? node, "\(path).\(field)", message) }
    case .failure(let e):
      let at = f["profile"] ?? f["access_key_env"] ?? f["secret_key_env"] ?? node
      error(at, "\(path)", "credentials: \(e.description)")
    }
    var rate: Double?
    if let r = f["max_requests_per_second"], let v = number(r, "\(path).max_requests_per_second") {
      if v > 0 { rate = v } else { error(r, "\(path).max_requests_per_second", "must be a positive number, got \(v)") }
    }
    var tls = TLSSettings.fromEnvironment(environment)
    if let c = f["ca_bundle"], let v = nonEmpty(c, "\(path).ca_bundle") {
      if readFile(v) == nil {
        error(c, "\(path).ca_bundle", "cannot read the CA bundle '\(v)'")
      }
      tls.caBundle = v
    }
    if let i = f["insecure_skip_tls_verify"], let v = bool(i, "\(path).insecure_skip_tls_verify") { tls.verify = !v }
    guard ok, let credentials, let parsed else { return nil }
    var config = EndpointConfig(
      name: name, url: url, endpoint: parsed, credentials: credentials.credentials,
      credentialSource: credentials.source, maxRequestsPerSecond: rate, tls: tls)
    config.credentialVariables = [request.accessKeyEnv, request.secretKeyEnv, request.sessionTokenEnv].compactMap { $0 }
    if let t = f["tagging_count_header"],
      let v = enumValue(t, "\(path).tagging_count_header", TaggingCountMode.self)
    {
      config.taggingCountHeader = v
    }
    return config
  }

  private mutating func side(_ node: YAMLNode?, _ path: String, declared: [String], parent: YAMLNode) -> PairSide? {
    guard let node else {
      error(parent, path, "is required")
      return nil
    }
    let f = fields(node, path, allowed: ["endpoint", "bucket", "prefix", "inventory"])
    guard case .mapping = node else { return nil }
    var result = PairSide(endpoint: "", bucket: "", prefix: "")
    var ok = true
    if let e = f["endpoint"], let v = nonEmpty(e, "\(path).endpoint") {
      if !declared.contains(v) {
        error(
          e, "\(path).endpoint", "'\(v)' is not defined under endpoints (defined: \(declared.joined(separator: ", ")))")
        ok = false
      }
      result.endpoint = v
    } else {
      if f["endpoint"] == nil { error(node, "\(path).endpoint", "is required") }
      ok = false
    }
    if let b = f["bucket"], let v = nonEmpty(b, "\(path).bucket") {
      result.bucket = v
    } else {
      if f["bucket"] == nil { error(node, "\(path).bucket", "is required") }
      ok = false
    }
    if let p = f["prefix"], let v = string(p, "\(path).prefix") { result.prefix = v }
    if let inv = f["inventory"] {
      let at = "\(path).inventory"
      if case .scalar = inv, let text = nonEmpty(inv, at) {
        if let loc = InventoryLocation.parse(text) {
          result.inventory = loc
        } else {
          error(inv, at, "'\(text)' is not s3://BUCKET/KEY/manifest.json, s3://BUCKET/PREFIX/ or a local path")
          ok = false
        }
      } else if case .mapping = inv {
        let g = fields(inv, at, allowed: ["bucket", "manifest", "latest", "path", "endpoint"])
        if let e = g["endpoint"], let v = nonEmpty(e, "\(at).endpoint") {
          if !declared.contains(v) {
            error(
              e, "\(at).endpoint",
              "'\(v)' is not defined under endpoints (defined: \(declared.joined(separator: ", ")))")
            ok = false
          }
          result.inventoryEndpoint = v
        }
        let given = ["manifest", "latest", "path"].filter { g[$0] != nil }
        if given.count != 1 {
          error(
            inv, at,
            "needs exactly one of manifest (a manifest.json key), latest (the configuration's prefix) or path (a local copy)"
          )
          ok = false
        } else if let p = g["path"], let v = nonEmpty(p, "\(at).path") {
          result.inventory = .local(path: v)
        } else if let b = g["bucket"], let bucket = nonEmpty(b, "\(at).bucket") {
          if let m = g["manifest"], let v = nonEmpty(m, "\(at).manifest") {
            result.inventory = .manifest(bucket: bucket, key: v)
          } else if let l = g["latest"], let v = string(l, "\(at).latest") {
            result.inventory = .latest(bucket: bucket, prefix: v.isEmpty || v.hasSuffix("/") ? v : v + "/")
          }
        } else {
          if g["bucket"] == nil {
            error(inv, "\(at).bucket", "is required with \(given[0]) (the bucket holding the inventory)")
          }
          ok = false
        }
      } else {
        error(inv, at, "must be s3://... or a local path, or a mapping (bucket with manifest or latest, or path)")
        ok = false
      }
    }
    return ok ? result : nil
  }

  // MARK: - Typed readers

  /// The entries of a mapping by key; unknown keys are reported.
  private mutating func fields(_ node: YAMLNode, _ path: String, allowed: Set<String>, ignoring: Set<String> = [])
    -> [String: YAMLNode]
  {
    guard case .mapping(let entries, _) = node else {
      error(node, path.isEmpty ? "(top level)" : path, "must be a mapping, got \(node.kindName)")
      return [:]
    }
    var out: [String: YAMLNode] = [:]
    for (k, v) in entries {
      guard case .scalar(let key, _, _) = k else {
        error(k, path, "keys must be plain names, got \(k.kindName)")
        continue
      }
      let full = path.isEmpty ? key : "\(path).\(key)"
      if ignoring.contains(key) { continue }
      guard allowed.contains(key) else {
        error(k, full, "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
        continue
      }
      if out[key] != nil {
        error(k, full, "appears twice")
        continue
      }
      out[key] = v
    }
    return out
  }

  private mutating func scalar(_ node: YAMLNode, _ path: String) -> String? {
    guard case .scalar(let s, _, _) = node else {
      error(node, path, "must be a scalar, got \(node.kindName)")
      return nil
    }
    return s
  }

  private mutating func string(_ node: YAMLNode, _ path: String) -> String? {
    guard case .scalar(let s, let plain, _) = node else {
      error(node, path, "must be a string, got \(node.kindName)")
      return nil
    }
    if plain && (s == "~" || s == "null" || s == "Null" || s == "NULL") {
      error(node, path, "must be a string, got null")
      return nil
    }
    return s
  }

  private mutating func nonEmpty(_ node: YAMLNode, _ path: String) -> String? {
    guard let s = string(node, path) else { return nil }
    guard !s.trimmingCharacters(in: .whitespaces).isEmpty else {
      error(node, path, "must not be empty")
      return nil
    }
    return s
  }

  private mutating func int(_ node: YAMLNode, _ path: String) -> Int? {
    guard case .scalar(let s, let plain, _) = node, plain, let v = Int(s) else {
      let words = TuningSetting.all.first { "defaults.tuning.\($0.key)" == path }?.words.keys.sorted() ?? []
      error(node, path, "must be an integer\(words.map { " or \($0)" }.joined()), got \(describe(node))")
      return nil
    }
    return v
  }

  private mutating func number(_ node: YAMLNode, _ path: String) -> Double? {
    guard case .scalar(let s, let plain, _) = node, plain, let v = Double(s), v.isFinite else {
      error(node, path, "must be a number, got \(describe(node))")
      return nil
    }
    return v
  }

  private mutating func bool(_ node: YAMLNode, _ path: String) -> Bool? {
    if case .scalar(let s, true, _) = node {
      switch s {
      case "true", "True", "TRUE": return true
      case "false", "False", "FALSE": return false
      default: break
      }
    }
    error(node, path, "must be true or false, got \(describe(node))")
    return nil
  }

  private mutating func enumValue<E: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ path: String, _: E.Type) -> E?
  where E.RawValue == String {
    guard case .scalar(let s, _, _) = node, let v = E(rawValue: s) else {
      error(node, path, "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), got \(describe(node))")
      return nil
    }
    return v
  }

  private func describe(_ node: YAMLNode) -> String {
    if case .scalar(let s, let plain, _) = node { return plain ? "'\(s)'" : "the string \"\(s)\"" }
    return node.kindName
  }
}
