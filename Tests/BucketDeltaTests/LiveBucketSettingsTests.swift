import Foundation
import S3
import Testing

@testable import BucketDelta

@Suite("As-of cutoff, filters and ignored fields")
struct LiveBucketSettingsTests {
  @Test("as_of: instants with a zone, durations before the start, run_start; anything else refused")
  func asOfParsing() {
    let start = Date(timeIntervalSince1970: 1_796_191_649.7)  // 2026-12-02T06:07:29.7Z
    let expected: [(String, Int64)] = [
      ("run_start", 1_796_191_649), ("15m", 1_796_191_649 - 900), ("2h", 1_796_191_649 - 7200),
      ("1d", 1_796_191_649 - 86400), ("90s", 1_796_191_649 - 90), ("4h30m", 1_796_191_649 - 16200),
      ("2026-12-01T01:00:00Z", 1_796_086_800),
      ("2026-12-01T02:00:00+01:00", 1_796_086_800),
    ]
    for (text, seconds) in expected {
      #expect(AsOf.parse(text).map { $0.cutoff(runStart: start) } == seconds, "\(text)")
    }
    for bad in ["", "yesterday", "2026-12-01T01:00:00", "15", "-5m", "15w", "h", "4h30", "2026-13-01T00:00:00Z"] {
      #expect(AsOf.parse(bad) == nil, "\(bad)")
    }
  }

  @Test("A LastModified in the cutoff's second or later is after it, in listing and HTTP-date form")
  func cutoffComparison() {
    let c = Cutoff(epochSeconds: 1_796_086_800)  // 2026-12-01T01:00:00Z
    #expect(!c.isAfter("2026-12-01T00:59:59.999Z"))
    #expect(c.isAfter("2026-12-01T01:00:00.000Z"))
    #expect(c.isAfter("2026-12-01T01:00:00.5Z"))
    #expect(c.isAfter("2026-12-01T01:00:01Z"))
    #expect(!c.isAfter("Tue, 01 Dec 2026 00:59:59 GMT"))
    #expect(c.isAfter("Tue, 01 Dec 2026 01:00:00 GMT"))
    #expect(c.isAfter("garbage"), "an unreadable timestamp is not judged")
    #expect(parseHTTPDate("Wed, 02 Dec 2026 06:07:29 GMT") == 1_796_191_649)
    #expect(parseHTTPDate("Wed, 02 Dec 2026 06:07:29 UTC") == nil)
    #expect(c.text == "2026-12-01T01:00:00Z")
  }

  static func filter(_ rules: [KeyFilter.Rule]) throws -> KeyFilter { try KeyFilter.make(rules).get() }

  @Test(
    "Globs: * within a segment, ** across, ?, classes, alternatives, anchoring, awkward keys",
    arguments: [
      ("*.partial", ["a.partial", "x/y/b.partial", "sp ace.partial"], ["a.partial.bak", "partial", "a.partialx"]),
      ("/tmp/", ["tmp/a", "tmp/b/c"], ["x/tmp/a", "tmpx/a", "tmp"]),
      ("tmp/", ["tmp/a", "x/tmp/b"], ["xtmp/a", "tmp"]),
      ("/logs/*.gz", ["logs/a.gz"], ["logs/x/a.gz", "y/logs/a.gz"]),
      ("/logs/**.gz", ["logs/a.gz", "logs/x/a.gz"], ["y/logs/a.gz"]),
      ("/d?/*", ["d1/a", "d+/a"], ["d/a", "d12/a", "d//a"]),
      ("/[ab]*", ["a", "bcd"], ["c", "x/a"]),
      ("/[!ab]*", ["c", "é"], ["a", "b"]),
      ("/{img,doc}s/**", ["imgs/1", "docs/x/y"], ["vids/1", "imgsx/1"]),
      ("/100% done+[1].txt", [], ["100% done+[1].txt"]),
      ("/100% done+\\[1\\].txt", ["100% done+[1].txt"], ["100% done+1.txt"]),
      ("/über/*", ["über/ä"], ["uber/a"]),
      ("/a b/c+d%20e", ["a b/c+d%20e"], ["a b/c d e", "a%20b/c+d%20e"]),
      ("/*", ["x", "line\nbreak"], ["x/y"]),
    ] as [(String, [String], [String])])
  func globs(pattern: String, matching: [String], notMatching: [String]) throws {
    let f = try Self.filter([.include(pattern)])
    for k in matching { #expect(f.decide(k).included, "\(pattern) should match \(k)") }
    for k in notMatching { #expect(!f.decide(k).included, "\(pattern) should not match \(k)") }
  }

  @Test("Rules in order, the first match decides; any include leaves out what matches nothing")
  func ruleOrder() throws {
    let a = try Self.filter([.exclude("/keep/tmp/"), .include("/keep/**")])
    #expect(!a.decide("keep/tmp/x").included)
    #expect(a.decide("keep/x").included)
    #expect(!a.decide("other").included, "an include exists: no match means left out")
    #expect(a.decide("keep/tmp/x").rule == 0 && a.decide("keep/x").rule == 1 && a.decide("other").rule == nil)
    let b = try Self.filter([.include("/keep/**"), .exclude("/keep/tmp/")])
    #expect(b.decide("keep/tmp/x").included, "the include came first")
    let c = try Self.filter([.exclude("*.partial")])
    #expect(c.decide("a/b").included && !c.decide("a/b.partial").included, "excludes alone keep the rest")
    #expect(KeyFilter.none.decide("anything").included)
    for (bad, why) in [("/[ab", "without ']'"), ("/{a,b", "without '}'"), ("/a}", "without '{'"), ("x\\", "ends with")]
    {
      guard case .failure(let e) = KeyFilter.make([.include(bad)]) else {
        Issue.record("\(bad) accepted")
        continue
      }
      #expect(e.description.contains(why), "\(e)")
    }
  }

  @Test("The listing is narrowed to the literal start every include shares, only when every include is anchored")
  func listingPrefix() throws {
    let cases: [([KeyFilter.Rule], String)] = [
      ([.include("/data/**")], "data/"), ([.include("/data/a*"), .include("/data/b/")], "data/"),
      ([.include("/logs/2026-1*"), .include("/logs/2026-0*")], "logs/2026-"), ([.include("/tmp/")], "tmp/"),
      ([.exclude("/x/"), .include("/data/**")], "data/"),  // excludes do not widen what is compared
      ([.include("/data/**"), .include("*.txt")], ""),  // an unanchored include may match anywhere
      ([.exclude("*.partial")], ""),  // without includes every key may be compared
      ([.include("/{a,b}/x")], ""), ([.include("/\\[x]/y")], ""), ([.include("/ü*"), .include("/ü/")], "ü"),
      ([.include("/é*"), .include("/è*")], ""),  // the shared first byte alone is not a character
    ]
    for (rules, expected) in cases {
      let f = try Self.filter(rules)
      #expect(f.listingPrefix == expected, "\(rules)")
      // What the narrowing keeps covers every key the rules include.
      for key in ["data/a", "data/b/c", "logs/2026-11", "tmp/x", "x/y.txt", "ü/1", "a/x", "[x]/y", "é1", "è2"]
      where f.decide(key).included {
        #expect(key.utf8.starts(with: f.listingPrefix.utf8), "\(rules): \(key)")
      }
    }
  }

  @Test("Ignored fields: whole fields, one metadata name, one tag; unknown names refused with the list")
  func ignoredFields() throws {
    var s = ObjectDetails(etag: "e", size: 1, metadata: ["Owner": "a", "Keep": "x"], headers: [:])
    s.headers["content-type"] = "text/plain"
    s.headers["x-amz-object-lock-mode"] = "GOVERNANCE"
    s.tags = ["t1": "a", "t2": "b"]
    var d = s
    d.metadata = ["owner": "b", "keep": "x"]
    d.headers["content-type"] = "binary/octet-stream"
    d.headers["x-amz-object-lock-mode"] = "COMPLIANCE"
    d.tags = ["t1": "z", "t2": "b"]
    #expect(DeepCheck.compare(s, d, compareTags: true) == [.metadata, .tags, .contentType, .objectLockMode])
    let some = try IgnoredFields.parse(["content_type", "metadata.OWNER", "tag.t1"]).get()
    #expect(DeepCheck.compare(s, d, compareTags: true, ignoring: some) == [.objectLockMode])
    let lock = try IgnoredFields.parse(["retention"]).get()
    #expect(DeepCheck.compare(s, d, compareTags: true, ignoring: lock) == [.metadata, .tags, .contentType])
    // A metadata name ignored leaves the others compared.
    d.metadata["keep"] = "y"
    #expect(DeepCheck.compare(s, d, compareTags: true, ignoring: some) == [.metadata, .objectLockMode])
    guard case .failure(let e) = IgnoredFields.parse(["content_type", "colour"]) else {
      Issue.record("colour accepted")
      return
    }
    #expect(e.description.contains("unknown field 'colour'") && e.description.contains("metadata.NAME"))
    #expect(throws: IgnoreError.self) { try IgnoredFields.parse(["metadata."]).get() }
  }
}
