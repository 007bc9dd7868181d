import S3
import Testing

@testable import BucketDelta

@Suite("Version alignment")
struct VersionAlignmentTests {
  /// "a", "b" ... are versions whose bytes are their names; "-" is a delete marker.
  static func history(_ s: String) -> [ObjectVersion] {
    s.split(separator: " ").enumerated().map { i, t in
      t == "-"
        ? ObjectVersion(
          key: "k", versionID: "m\(i)", isLatest: false, isDeleteMarker: true, etag: "", size: 0, lastModified: "")
        : ObjectVersion(
          key: "k", versionID: "v\(i)", isLatest: false, isDeleteMarker: false,
          etag: String(repeating: String(t.first!), count: 32).replacingOccurrences(of: String(t.first!), with: "a")
            .prefix(31) + String(t.first!.asciiValue! % 16, radix: 16), size: 1, lastModified: "")
    }
  }

  /// The outcomes as short strings: `=1/1`, `~2/2`, `-3` (missing in the destination), `+1` (only there).
  static func outcomes(_ s: String, _ d: String, cap: Int = VersionAlignment.alignmentCap) -> [String] {
    VersionAlignment.align(history(s), history(d), cap: cap).outcomes.map {
      switch $0 {
      case .same(let a, let b): return "=\(a.position)/\(b.position)"
      case .different(let a, let b, _): return "~\(a.position)/\(b.position)"
      case .missingInDestination(let a): return "-\(a.position)"
      case .onlyInDestination(let b): return "+\(b.position)"
      }
    }
  }

  @Test(
    "Histories align as their longest common subsequence; gaps pair in order; markers never pair with versions",
    arguments: [
      ("a b c", "a b c", ["=1/1", "=2/2", "=3/3"]),
      ("a b c", "c", ["-1", "-2", "=3/1"]),  // a backup of the latest version only
      ("a b c", "a x c", ["=1/1", "~2/2", "=3/3"]),  // one version's bytes changed: one line
      ("a b c d", "a c d", ["=1/1", "-2", "=3/2", "=4/3"]),  // one missing in the middle: not a shifted history
      ("a - b", "a b", ["=1/1", "-2", "=3/2"]),  // a delete marker missing
      ("a b", "z a b", ["+1", "=1/2", "=2/3"]),  // an extra (older) destination version
      ("a -", "a x", ["=1/1", "+2", "-2"]),  // a marker is not paired with a version (versions come first)
      ("", "a", ["+1"]), ("a", "", ["-1"]), ("", "", []),
    ] as [(String, String, [String])])
  func align(source: String, destination: String, expected: [String]) {
    #expect(Self.outcomes(source, destination) == expected)
  }

  @Test("Over the cap, histories are compared by position and the caller is told")
  func cap() {
    let r = VersionAlignment.align(Self.history("a b c d"), Self.history("a c d"), cap: 3)
    #expect(r.byPosition)
    #expect(
      Self.outcomes("a b c d", "a c d", cap: 3) == ["=1/1", "~2/2", "~3/3", "-4"],
      "a and a are the same by position too")
  }
}
