import Foundation
import Testing

/// The HTML sign-off page (`--html`, `output.html`), read back by Python's HTML parser
/// (`Tests/fixtures/check_signoff.py`) and by headless Chromium.
@Suite("Sign-off page")
struct SignoffPageTests {
  static let hostile = [
    "<script>alert(1)</script>", "\"onmouseover=alert(1) x=\"", "</td><td>x</td>", "\u{202E}txt.exe",
    // SeaweedFS lists a/b before a-c: the pair is listed again, sorted; the page shows the second attempt only
    "a/b", "a-c", "zero\u{200B}width", "amp&amp;'quote'",  // 1,000 bytes (SeaweedFS takes at most 255 per path segment)
    "k/" + Array(repeating: String(repeating: "<b>x", count: 60), count: 4).joined(separator: "/") + "/"
      + String(repeating: "z", count: 34),
  ]

  static func read(_ page: String) throws -> [String: Any] {
    let r = try runProcess(
      pythonPath(), [repoRoot.appendingPathComponent("Tests/fixtures/check_signoff.py").path, page])
    guard r.status == 0 else { throw HarnessError(description: r.stderr) }
    return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
  }

  static func sha256(_ path: String) throws -> String {
    try runProcess(
      pythonPath(),
      ["-c", "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", path]
    ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test("Hostile keys stay text, counts equal the summary, evidence without secrets; a failed run says so")
  func page() throws {
    let servers = try TestServers.fromEnvironment()
    let s = uniqueBucket("html-src")
    let d = uniqueBucket("html-dst")
    _ = try runFixture(
      "make_live_pair.py", ["keys", "--url", servers.seaweed, "--source-bucket", s, "--dest-bucket", d] + Self.hostile,
      servers: servers)
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let html = dir.appendingPathComponent("signoff.html").path
    let report = dir.appendingPathComponent("r.txt").path
    let summary = dir.appendingPathComponent("s.json").path
    var env = ProcessInfo.processInfo.environment
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    let args =
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: s, destinationURL: servers.seaweed,
        destinationBucket: d, output: report) + ["--summary", summary, "--html", html, "--num_processes", "3"]
    let r = try runProcess(try toolPath(), args, environment: env)
    #expect(r.status == 1, "\(r.stderr)")
    let text = try String(contentsOfFile: html, encoding: .utf8)
    let page = try Self.read(html)
    // No key made an element or an attribute: the only elements and attributes are the page's own.
    let tags = Set((page["tags"] as! [String: Int]).keys)
    let allowed: Set<String> = [
      "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "span", "section", "table",
      "thead", "tbody", "tr", "th", "td", "a", "code", "br", "svg", "rect", "text", "div", "input", "label", "pre",
      "ul", "li", "script", "polyline",
    ]
    #expect(tags.isSubset(of: allowed), "\(tags.subtracting(allowed))")
    #expect((page["tags"] as! [String: Int])["script"] == 1, "one inline script, the page's own")
    #expect(!(page["attributes"] as! [String]).contains { $0.hasPrefix("on") })
    #expect((page["external"] as! [String]).isEmpty, "self-contained")
    #expect(Set(page["keys"] as! [String]) == Set(Self.hostile))
    #expect((page["keys"] as! [String]).count == Self.hostile.count, "each key once")
    #expect(r.stderr.contains("not in UTF-8 byte order"), "the listing was started again")
    // Counts on the page are the summary's.
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as! [String: Any]
    let pair = (json["pairs"] as! [[String: Any]])[0]
    let counts = (page["pairs"] as! [[String: Int]])[0]
    for (field, key) in [
      ("objects", "objects_compared"), ("identical", "identical"), ("different", "different"),
      ("only_in_source", "only_in_source"), ("only_in_destination", "only_in_destination"), ("errors", "errors"),
      ("unverified", "unverified"), ("changed_after_cutoff", "changed_after_cutoff"), ("excluded", "excluded"),
    ] {
      #expect(counts[field] == pair[key] as? Int, "\(field)")
    }
    #expect(page["verdict"] as? String == "1 of 1 pair differ")
    #expect(page["exit_status"] as? String == "1")
    // Evidence: report and summary hashes, the identity masked, no secret anywhere.
    #expect(text.contains("sha256 \(try Self.sha256(report))"))
    #expect(text.contains("sha256 \(try Self.sha256(summary))"))
    #expect(text.contains("*****" + String(servers.accessKey.suffix(4))))
    #expect(!text.contains(servers.secretKey))
    #expect(!text.contains(servers.accessKey))

    // In a real browser: the page loads offline and makes no request, its script runs (the filter controls
    // are shown, #q= filters the rows), the per-pair rows and the charts are in the DOM, and it prints.
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
    let browser = try #require(chromium, "headless Chromium is installed by scripts/install-deps.sh --test")
    func load(_ url: String, _ extra: [String] = []) throws -> (dom: String, requests: [String]) {
      let log = dir.appendingPathComponent("net-\(UUID().uuidString).json").path
      let r = try runProcess(
        browser,
        [
          "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
          "--user-data-dir=\(dir.path)/chrome", "--log-net-log=\(log)",
        ] + extra + ["--dump-dom", url])
      #expect(r.status == 0, "\(r.stderr)")
      let requests = try runProcess(
        pythonPath(), [repoRoot.appendingPathComponent("Tests/fixtures/check_signoff.py").path, "--netlog", log])
      return (r.stdout, (try? JSONSerialization.jsonObject(with: Data(requests.stdout.utf8)) as? [String]) ?? ["?"])
    }
    let loaded = try load("file://" + html)
    #expect(loaded.requests.isEmpty, "\(loaded.requests)")
    #expect(loaded.dom.contains("<div class=\"controls\">"), "the script ran")
    #expect(loaded.dom.contains("data-pair=\"0\"") && loaded.dom.contains("<svg") && loaded.dom.contains("<rect"))
    let rows = loaded.dom.components(separatedBy: "<tr data-status=").count - 1
    #expect(rows == Self.hostile.count)
    let filtered = try load("file://" + html + "#q=script")
    let shown = filtered.dom.components(separatedBy: "<tr data-status=").dropFirst().filter {
      !$0.prefix(60).contains("hidden")
    }
    #expect(shown.count == 1 && shown[0].contains("&lt;script&gt;alert(1)"), "\(shown.count) rows shown")
    // The request check sees a page that fetches something (so an empty list above means something).
    let leaky = dir.appendingPathComponent("leaky.html").path
    try (try String(contentsOfFile: html, encoding: .utf8)).replacingOccurrences(
      of: "</body>", with: "<img src=\"http://127.0.0.1:9/x.png\"></body>"
    ).write(toFile: leaky, atomically: true, encoding: .utf8)
    #expect(try load("file://" + leaky).requests == ["http://127.0.0.1:9/x.png"])
    let pdf = dir.appendingPathComponent("signoff.pdf").path
    _ = try runProcess(
      browser,
      [
        "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir.path)/chrome", "--print-to-pdf=\(pdf)",
        "file://" + html,
      ])
    let size = (try? FileManager.default.attributesOfItem(atPath: pdf)[.size] as? Int) ?? 0
    #expect(size > 1000, "printed to PDF: \(size) bytes")

    // A run that fails still writes the page, and says so at the top.
    let failed = try runProcess(
      try toolPath(),
      pairArguments(
        servers: servers, sourceURL: servers.seaweed, sourceBucket: s, destinationURL: servers.seaweed,
        destinationBucket: d, output: report, secret: "wrong-secret") + ["--html", html],
      environment: env)
    #expect(failed.status == 2)
    let failedPage = try Self.read(html)
    #expect(failedPage["verdict"] as? String == "Incomplete: 1 of 1 pair failed")
    #expect(!(try String(contentsOfFile: html, encoding: .utf8)).contains("wrong-secret"))

  }

  @Test("The demo manifest's page: a row and a section per pair, counts equal the summary, charts drawn")
  func demoManifest() throws {
    let servers = try TestServers.fromEnvironment()
    let prefix = uniqueBucket("demo") + "-"
    var env = ProcessInfo.processInfo.environment
    env["BD_S3_ACCESS_KEY"] = servers.accessKey
    env["BD_S3_SECRET_KEY"] = servers.secretKey
    let fixture = try runProcess(
      pythonPath(),
      [
        repoRoot.appendingPathComponent("scripts/demo_fixtures.py").path, "--endpoint", servers.seaweed,
        "--bucket-prefix", prefix,
      ], environment: env)
    #expect(fixture.status == 0, "\(fixture.stderr)")
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let manifest = try String(
      contentsOf: repoRoot.appendingPathComponent("examples/demo.yaml"), encoding: .utf8
    ).replacingOccurrences(of: "http://127.0.0.1:8333", with: servers.seaweed)
      .replacingOccurrences(of: "bucket: photos", with: "bucket: \(prefix)photos")
      .replacingOccurrences(of: "demo-out/", with: dir.path + "/out/")
    let path = dir.appendingPathComponent("demo.yaml").path
    try manifest.write(toFile: path, atomically: true, encoding: .utf8)
    env["AWS_ACCESS_KEY_ID"] = servers.accessKey
    env["AWS_SECRET_ACCESS_KEY"] = servers.secretKey
    env["BUCKET_DELTA_STATE_DIR"] = dir.appendingPathComponent("state").path
    let r = try runProcess(try toolPath(), ["run", path], environment: env)
    #expect(r.status == 1, "\(r.stderr)")
    let html = dir.appendingPathComponent("out/signoff.html").path
    let page = try Self.read(html)
    #expect(page["verdict"] as? String == "2 of 2 pairs differ")
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("out/summary.json")))
    let pairs = (json as! [String: Any])["pairs"] as! [[String: Any]]
    let rows = page["pairs"] as! [[String: Int]]
    #expect(rows.count == 2)
    for (row, pair) in zip(rows, pairs) {
      for (field, key) in [("objects", "objects_compared"), ("different", "different"), ("identical", "identical")] {
        #expect(row[field] == pair[key] as? Int, "\(pair["name"] ?? "") \(field)")
      }
    }
    let text = try String(contentsOfFile: html, encoding: .utf8)
    #expect(text.contains("id=\"pair-0\"") && text.contains("id=\"pair-1\""))
    #expect(text.contains("aria-label=\"Verdict mix per pair\"") && text.contains("id=\"rate-chart\""))
    // The records: the planted key only in the source, and the deep pair's metadata difference.
    #expect(text.contains("2025/12/holiday party.jpg"))
    #expect(text.contains("<td>metadata</td>"))
  }
}
