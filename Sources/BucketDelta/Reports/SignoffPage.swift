import Foundation
import S3

/// The first records of each pair's report, kept for the sign-off page (thread-safe: pairs run in
/// parallel).
public final class RecordSample: @unchecked Sendable {
  // @unchecked: guarded by `lock`.
  private let lock = NSLock()
  private var records: [Int: [Difference]] = [:]
  private var totals: [Int: Int] = [:]
  public let limit: Int

  public init(limit: Int = 1000) { self.limit = limit }

  /// Starts the pair's records over: a comparison started again (a listing fallback) rewrites its report.
  func reset(pair: Int) {
    lock.withLock {
      records[pair] = nil
      totals[pair] = nil
    }
  }

  func add(pair: Int, _ d: Difference) {
    lock.withLock {
      totals[pair, default: 0] += 1
      if records[pair, default: []].count < limit { records[pair, default: []].append(d) }
    }
  }

  public func records(pair: Int) -> (first: [Difference], total: Int) {
    lock.withLock { (records[pair] ?? [], totals[pair] ?? 0) }
  }
}

/// One self-contained HTML page per run for the people who sign a migration off (`output.html`,
/// `--html`): the verdict in one line, a row per pair, a verdict-mix bar per pair (inline SVG), the first
/// differences of each pair, and the evidence (the manifest as run without secrets, SHA-256 of every
/// report and of the summary, the masked identities, the flags). No external scripts, fonts or
/// images. Everything that came from a bucket is escaped for the context it lands in; keys never go into
/// a URL, an attribute or the script.
public enum SignoffPage {
  public struct Input {
    public var summary: RunSummary
    public var manifest: Manifest
    public var sample: RecordSample
    /// Paths of the summary and of each pair's report (for their SHA-256).
    public var summaryPath: String?
    public var reportPaths: [String]
    /// The command line, secrets masked.
    public var arguments: [String]
  }

  /// Escapes text for HTML element content and quoted attribute values.
  public static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for ch in s.unicodeScalars {
      switch ch {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default:
        // Control characters are shown, not passed on (a key may hold any of them).
        if ch.value < 0x20 && ch != "\t" || ch.value == 0x7F {
          out += "\\u{\(String(ch.value, radix: 16))}"
        } else {
          out.unicodeScalars.append(ch)
        }
      }
    }
    return out
  }

  /// An access key ID with all but its last 4 characters masked.
  public static func maskKeyID(_ id: String) -> String {
    id.count <= 4 ? String(repeating: "*", count: id.count) : String(repeating: "*", count: id.count - 4) + id.suffix(4)
  }

  /// The command line with the values of secret-carrying flags masked.
  public static func maskedArguments(_ args: [String]) -> [String] {
    var out: [String] = []
    var maskNext = false
    for a in args {
      if maskNext {
        out.append("****")
        maskNext = false
        continue
      }
      let secret = ["_secret_key", "_access_key", "session_token"].contains { a.contains($0) }
      if secret, let eq = a.firstIndex(of: "=") {
        out.append(String(a[...eq]) + "****")
      } else {
        out.append(a)
        maskNext = secret && a.hasPrefix("--")
      }
    }
    return out
  }

  static func sha256(_ path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { return "(not written)" }
    let d = Digest(.sha256)
    d.update(Array(data))
    return d.finish().map { String(format: "%02x", $0) }.joined()
  }

  /// The verdict line a person signs against.
  static func verdict(_ s: RunSummary) -> String {
    let n = s.pairs.count
    let differ = s.pairs.filter { $0.status == .different }.count
    let failed = s.pairs.filter(\.failed).count
    let unverified = s.pairs.filter { $0.status == .unverified }.count
    if s.exit_code == 130 || s.exit_code == 143 { return "Interrupted: the run did not finish" }
    if failed > 0 { return "Incomplete: \(failed) of \(n) pair\(n == 1 ? "" : "s") failed" }
    if differ > 0 { return "\(differ) of \(n) pair\(n == 1 ? "" : "s") differ" }
    if unverified > 0 { return "\(unverified) of \(n) pair\(n == 1 ? "" : "s") not fully verified, none differ" }
    return n == 1 ? "The pair is identical" : "All \(n) pairs identical"
  }

  /// The page.
  public static func render(_ input: Input) -> String {
    let s = input.summary
    let e = escape
    var h = """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <title>bucket-delta sign-off: \(e(verdict(s)))</title>
      <style>
      body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#1b1b1b;max-width:80em}
      h1{font-size:1.6em;margin:.2em 0} .ok{color:#1a7f37} .bad{color:#b42318} .warn{color:#9a6700}
      table{border-collapse:collapse;margin:.6em 0;width:100%} th,td{border:1px solid #ccc;padding:.25em .5em;
      text-align:left;vertical-align:top;font-size:.9em} td.n{text-align:right;font-variant-numeric:tabular-nums}
      code,td.key{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all;unicode-bidi:plaintext}
      .meta{color:#555} section{margin-top:2em} @media print{.controls{display:none} a{color:inherit}}
      </style></head><body>

      """
    let cls =
      s.status == .identical || s.status == .empty
      ? "ok" : s.status == .different || s.status == .error ? "bad" : "warn"
    h += "<header><h1 class=\"\(cls)\" id=\"verdict\">\(e(verdict(s)))</h1>\n"
    h += "<p class=\"meta\">Exit status <span id=\"exit-status\">\(s.exit_code)</span> &middot; "
    h += "\(e(s.started_at)) to \(e(s.finished_at)) (UTC) &middot; "
    let seconds = s.pairs.map(\.duration_seconds).reduce(0, +)
    h +=
      "pairs \(s.pairs.count), \(String(format: "%.1f", seconds)) s of comparison &middot; bucket-delta \(e(s.tool_version))</p></header>\n"

    // Pairs
    h += "<section><h2>Pairs</h2><table id=\"pairs\"><thead><tr><th>Pair</th><th>Source</th><th>Destination</th>"
    h += "<th>Check</th><th>Status</th>"
    let counts: [(String, String, (PairSummary) -> Int)] = [
      ("objects", "Objects", { $0.objects_compared }), ("identical", "Identical", { $0.identical }),
      ("different", "Different", { $0.different }), ("only_in_source", "Only in source", { $0.only_in_source }),
      ("only_in_destination", "Only in destination", { $0.only_in_destination }),
      ("unverified", "Unverified", { $0.unverified }),
      ("changed_after_cutoff", "Changed after cutoff", { $0.changed_after_cutoff }),
      ("excluded", "Excluded", { $0.excluded }), ("errors", "Errors", { $0.errors }),
    ]
    for (_, label, _) in counts { h += "<th>\(label)</th>" }
    h += "<th>Bytes read</th><th>Duration s</th><th>Objects/s</th></tr></thead><tbody>\n"
    for (i, p) in s.pairs.enumerated() {
      let config = input.manifest.pairs.first { $0.name == p.name }
      func side(_ side: PairSide?) -> String {
        guard let side else { return "" }
        let url = input.manifest.endpoints[side.endpoint]?.url ?? side.endpoint
        return
          "<code>\(e(url))</code><br><code>\(e(side.bucket))</code>\(side.prefix.isEmpty ? "" : "<br>prefix <code>\(e(side.prefix))</code>")"
      }
      h += "<tr data-pair=\"\(i)\"><td><a href=\"#pair-\(i)\">\(e(p.name))</a></td><td>\(side(config?.source))</td>"
      h +=
        "<td>\(side(config?.destination))</td><td>\(e(p.check)), verify \(e(p.verify))\(config?.versions == true ? ", versions" : "")</td>"
      h += "<td class=\"status\">\(e(p.status.rawValue))</td>"
      for (field, _, value) in counts { h += "<td class=\"n\" data-field=\"\(field)\">\(value(p))</td>" }
      h += "<td class=\"n\">\(p.bytes_read)</td><td class=\"n\">\(p.duration_seconds)</td>"
      h += "<td class=\"n\">\(p.objects_per_second)</td></tr>\n"
    }
    h += "</tbody></table>\n"
    h += mixChart(s.pairs)
    h += rateChart(s.pairs)
    h += "</section>\n"

    // Differences per pair
    for (i, p) in s.pairs.enumerated() {
      let (records, total) = input.sample.records(pair: i)
      h += "<section id=\"pair-\(i)\"><h2>\(e(p.name)): \(e(p.status.rawValue))</h2>\n"
      if let err = p.error { h += "<p class=\"bad\">\(e(err))</p>\n" }
      for w in p.warnings ?? [] { h += "<p class=\"warn\">\(e(w))</p>\n" }
      if p.resumed > 0 {
        h += "<p class=\"meta\">Resumed from a checkpoint: records written before it are in the report only.</p>\n"
      }
      if records.isEmpty {
        h += "<p>No \(p.resumed > 0 ? "further " : "")differences reported.</p></section>\n"
        continue
      }
      let statuses = Array(Set(records.map(\.status.rawValue))).sorted()
      h += "<div class=\"controls\" hidden><input type=\"search\" placeholder=\"Filter keys\" data-table=\"t\(i)\"> "
      for st in statuses {
        h += "<label><input type=\"checkbox\" checked data-table=\"t\(i)\" data-status=\"\(e(st))\"> \(e(st))</label> "
      }
      h +=
        "</div>\n<table id=\"t\(i)\" class=\"differences\"><thead><tr><th>Key</th><th>Status</th><th>What differs</th>"
      h += "<th>Source</th><th>Destination</th><th>Decided by</th></tr></thead><tbody>\n"
      for d in records {
        h +=
          "<tr data-status=\"\(e(d.status.rawValue))\"><td class=\"key\">\(e(d.key))</td><td>\(e(d.status.rawValue))</td>"
        h +=
          "<td>\(e(d.fields.map(\.rawValue).joined(separator: ", ")))\(d.reason.map { " " + e($0) } ?? "")\(d.error.map { " " + e($0) } ?? "")</td>"
        h += "<td>\(describe(d.source, d.sourceVersion))</td><td>\(describe(d.destination, d.destinationVersion))</td>"
        h += "<td>\(e(d.verifiedBy ?? ""))</td></tr>\n"
      }
      h += "</tbody></table>\n"
      if total > records.count {
        h +=
          "<p class=\"meta\">The first \(records.count) of \(total) records; all are in <code>\(e(p.report))</code>.</p>\n"
      }
      h += "</section>\n"
    }

    // Evidence
    h += "<section id=\"evidence\"><h2>Evidence</h2><h3>Files</h3><table><tbody>\n"
    if let path = input.summaryPath {
      h += "<tr><td><code>\(e(path))</code></td><td><code>sha256 \(sha256(path))</code></td></tr>\n"
    }
    for path in input.reportPaths {
      h += "<tr><td><code>\(e(path))</code></td><td><code>sha256 \(sha256(path))</code></td></tr>\n"
    }
    h += "</tbody></table><h3>Identities</h3><table><tbody>\n"
    for name in input.manifest.endpoints.keys.sorted() {
      let ep = input.manifest.endpoints[name]!
      h +=
        "<tr><td>\(e(name))</td><td><code>\(e(ep.url))</code></td><td>access key <code>\(e(maskKeyID(ep.credentials.accessKeyID)))</code></td>"
      h += "<td>from \(e(ep.credentialSource))</td></tr>\n"
    }
    h +=
      "</tbody></table><h3>Command line</h3><pre><code>\(e(maskedArguments(input.arguments).joined(separator: " ")))</code></pre>\n"
    h += "<h3>Manifest as run</h3><pre><code>\(e(manifestText(input.manifest)))</code></pre>\n"
    h += "<h3>Settings that changed the default</h3><ul>\n"
    let defaults = Tuning()
    for setting in TuningSetting.all {
      switch setting.value {
      case .integer(let path, _):
        if input.manifest.tuning[keyPath: path] != defaults[keyPath: path] {
          h += "<li><code>\(e(setting.key)): \(input.manifest.tuning[keyPath: path])</code></li>\n"
        }
      case .seconds(let path, _):
        if input.manifest.tuning[keyPath: path] != defaults[keyPath: path] {
          h += "<li><code>\(e(setting.key)): \(input.manifest.tuning[keyPath: path])</code></li>\n"
        }
      }
    }
    h += "</ul></section>\n"
    h += script
    h += "</body></html>\n"
    return h
  }

  /// A version's or an object's listing facts.
  private static func describe(_ o: ListedObject?, _ v: VersionRef?) -> String {
    guard let o else { return "" }
    var parts = ["size \(o.size)", "ETag <code>\(escape(o.etag))</code>"]
    if !o.lastModified.isEmpty { parts.append(escape(o.lastModified)) }
    if let v { parts.insert("version \(v.position) of \(v.count) <code>\(escape(v.id))</code>", at: 0) }
    return parts.joined(separator: "<br>")
  }

  /// The manifest as run: endpoints with where their credentials came from (names only), pairs with
  /// their settings. No secret and no environment variable's value.
  static func manifestText(_ m: Manifest) -> String {
    var t = "endpoints:\n"
    for name in m.endpoints.keys.sorted() {
      let ep = m.endpoints[name]!
      t +=
        "  \(name): { url: \(ep.url), region: \(ep.region), addressing_style: \(ep.addressing.rawValue), credentials: \(ep.credentialSource)"
      if !ep.credentialVariables.isEmpty { t += " (\(ep.credentialVariables.joined(separator: ", ")))" }
      t += " }\n"
    }
    t += "pairs:\n"
    for p in m.pairs {
      t += "  - name: \(p.name)\n    source: \(p.source.endpoint)/\(p.source.bucket)/\(p.source.prefix)\n"
      t += "    destination: \(p.destination.endpoint)/\(p.destination.bucket)/\(p.destination.prefix)\n"
      t += "    check: \(p.check.rawValue), verify: \(p.level.rawValue), compare_object_tags: \(p.compareObjectTags)"
      if let a = p.asOf { t += ", as_of: \(a)" }
      if p.versions { t += ", versions: true" }
      if !p.filterRules.isEmpty { t += ", filters: [\(p.filterRules.map(\.description).joined(separator: "; "))]" }
      if !p.ignore.isEmpty { t += ", ignore: [\(p.ignore.names.joined(separator: ", "))]" }
      t += "\n"
    }
    return t
  }

  /// One stacked bar per pair of its verdict mix (inline SVG, with the numbers as text too).
  static func mixChart(_ pairs: [PairSummary]) -> String {
    let parts: [(String, String, (PairSummary) -> Int)] = [
      ("identical", "#1a7f37", { $0.identical }), ("different", "#b42318", { $0.different }),
      ("missing", "#d97706", { $0.only_in_source + $0.only_in_destination }),
      ("unverified", "#9a6700", { $0.unverified }), ("skipped", "#8c959f", { $0.changed_after_cutoff + $0.excluded }),
      ("error", "#6e40c9", { $0.errors }),
    ]
    let rowHeight = 22
    var svg =
      "<svg role=\"img\" aria-label=\"Verdict mix per pair\" width=\"720\" height=\"\(pairs.count * rowHeight + 30)\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">\n"
    for (i, p) in pairs.enumerated() {
      let y = i * rowHeight
      let total = max(1, parts.map { $0.2(p) }.reduce(0, +))
      svg += "<text x=\"0\" y=\"\(y + 15)\">\(escape(String(p.name.prefix(24))))</text>"
      var x = 180.0
      for (label, color, value) in parts where value(p) > 0 {
        let w = 520.0 * Double(value(p)) / Double(total)
        svg +=
          "<rect x=\"\(String(format: "%.1f", x))\" y=\"\(y + 3)\" width=\"\(String(format: "%.1f", max(w, 1)))\" height=\"16\" fill=\"\(color)\"><title>\(label): \(value(p))</title></rect>"
        x += w
      }
      svg += "\n"
    }
    let ly = pairs.count * rowHeight + 18
    var lx = 0
    for (label, color, _) in parts {
      svg +=
        "<rect x=\"\(lx)\" y=\"\(ly - 10)\" width=\"10\" height=\"10\" fill=\"\(color)\"/><text x=\"\(lx + 14)\" y=\"\(ly)\">\(label)</text>"
      lx += 110
    }
    return svg + "\n</svg>\n"
  }

  /// Objects/s over time per pair (from `progress_series`), one polyline each, in inline SVG.
  static func rateChart(_ pairs: [PairSummary]) -> String {
    let colors = ["#0969da", "#b42318", "#1a7f37", "#9a6700", "#6e40c9", "#d97706", "#57606a"]
    var lines: [(String, [(Double, Double)])] = []
    for p in pairs {
      guard let series = p.progress_series, series.count >= 2 else { continue }
      var rates: [(Double, Double)] = []
      for (a, b) in zip(series, series.dropFirst()) where b[0] > a[0] {
        rates.append((b[0], (b[1] - a[1]) / (b[0] - a[0])))
      }
      if !rates.isEmpty { lines.append((p.name, rates)) }
    }
    guard !lines.isEmpty else { return "" }
    let maxT = max(1, lines.flatMap { $0.1.map(\.0) }.max() ?? 1)
    let maxR = max(1, lines.flatMap { $0.1.map(\.1) }.max() ?? 1)
    let (w, h, left, top) = (640.0, 180.0, 60.0, 10.0)
    var svg =
      "<svg id=\"rate-chart\" role=\"img\" aria-label=\"Objects per second over time\" width=\"720\" height=\"\(Int(h + top + 50))\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">\n"
    svg += "<text x=\"0\" y=\"\(top + 10)\">\(Int(maxR)) obj/s</text><text x=\"0\" y=\"\(top + h)\">0</text>"
    svg +=
      "<text x=\"\(left)\" y=\"\(top + h + 16)\">0 s</text><text x=\"\(left + w - 40)\" y=\"\(top + h + 16)\">\(String(format: "%.0f", maxT)) s</text>"
    svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(w)\" height=\"\(h)\" fill=\"none\" stroke=\"#ccc\"/>\n"
    for (i, (name, rates)) in lines.enumerated() {
      let color = colors[i % colors.count]
      let pts = ([(0.0, rates[0].1)] + rates).map {
        String(format: "%.1f,%.1f", left + w * $0.0 / maxT, top + h - h * $0.1 / maxR)
      }
      svg +=
        "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(pts.joined(separator: " "))\"><title>\(escape(name))</title></polyline>"
      svg +=
        "<text x=\"\(left + Double(i % 4) * 160)\" y=\"\(top + h + 34 + Double(i / 4) * 14)\" fill=\"\(color)\">\(escape(String(name.prefix(22))))</text>\n"
    }
    return svg + "</svg>\n"
  }

  /// The filter box and status toggles: shown only when scripts run; reads only the table's own cells.
  static let script = """
    <script>
    document.querySelectorAll('.controls').forEach(function (c) { c.hidden = false; });
    function apply(id) {
      var box = document.querySelector('input[type=search][data-table="' + id + '"]');
      var text = box ? box.value.toLowerCase() : '';
      var on = {};
      document.querySelectorAll('input[type=checkbox][data-table="' + id + '"]').forEach(function (b) {
        on[b.getAttribute('data-status')] = b.checked;
      });
      document.querySelectorAll('#' + id + ' tbody tr').forEach(function (r) {
        var key = r.cells[0].textContent.toLowerCase();
        r.hidden = !(on[r.getAttribute('data-status')] !== false && key.indexOf(text) >= 0);
      });
    }
    document.querySelectorAll('.controls input').forEach(function (i) {
      i.addEventListener('input', function () { apply(i.getAttribute('data-table')); });
    });
    // page.html#q=TEXT opens with every filter box set to TEXT (a link to "these keys").
    var m = /^#q=(.*)$/.exec(location.hash);
    if (m) {
      document.querySelectorAll('.controls input[type=search]').forEach(function (b) {
        b.value = decodeURIComponent(m[1]);
        apply(b.getAttribute('data-table'));
      });
    }
    </script>

    """
}
