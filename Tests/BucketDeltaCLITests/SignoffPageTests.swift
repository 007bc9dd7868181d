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
      "ul", "li", "script",
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

    // In a real browser: the page loads offline, its script runs (the filter controls are shown) and it prints.
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
    let browser = try #require(chromium, "headless Chromium is installed by scripts/install-deps.sh")
    let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(dir.path)/chrome"]
    let dom = try runProcess(browser, flags + ["--dump-dom", "file://" + html])
    #expect(dom.status == 0, "\(dom.stderr)")
    #expect(dom.stdout.contains("class=\"controls\">") || dom.stdout.contains("class=\"controls\" "), "the script ran")
    #expect(!dom.stdout.contains("class=\"controls\" hidden"))
    let pdf = dir.appendingPathComponent("signoff.pdf").path
    _ = try runProcess(browser, flags + ["--print-to-pdf=\(pdf)", "file://" + html])
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
}
