import S3

/// Compares two version histories of one key (`versions: true`), oldest first.
///
/// The histories are aligned as their longest common subsequence of equal versions (same kind; markers
/// equal markers; versions of equal size whose content the verification ladder's ETag rung proves the
/// same). Between two aligned versions, the unaligned source and destination versions are paired in
/// order (`different`: a version whose bytes changed is one line, not a shifted history); what is left
/// is missing in the destination or only in it. Delete markers are never paired with versions. Version
/// IDs differ between buckets and are never compared.
public enum VersionAlignment {
  /// A version and its 1-based place in its history (oldest first).
  public struct Item: Sendable, Equatable {
    public var version: ObjectVersion
    public var position: Int
  }

  public enum Outcome: Sendable, Equatable {
    case same(Item, Item)
    /// Two versions at the same place whose content differs, or cannot be told the same
    /// (`ContentVerdict.unverified`).
    case different(Item, Item, ContentVerdict)
    case missingInDestination(Item)
    case onlyInDestination(Item)
  }

  /// Above this many versions on a side, histories are compared by position (the alignment is
  /// O(n x m) in time and memory).
  public static let alignmentCap = 10_000

  /// The outcomes in time order, and whether the histories were compared by position (over the cap).
  public static func align(_ source: [ObjectVersion], _ destination: [ObjectVersion], cap: Int = alignmentCap)
    -> (outcomes: [Outcome], byPosition: Bool)
  {
    let s = source.enumerated().map { Item(version: $0.element, position: $0.offset + 1) }
    let d = destination.enumerated().map { Item(version: $0.element, position: $0.offset + 1) }
    if s.count > cap || d.count > cap {
      var out: [Outcome] = []
      for (a, b) in zip(s, d) { out += equal(a.version, b.version) ? [.same(a, b)] : pair([a], [b]) }
      out += s.dropFirst(d.count).map { .missingInDestination($0) }
      out += d.dropFirst(s.count).map { .onlyInDestination($0) }
      return (out, true)
    }
    // LCS table, from the ends.
    let n = s.count
    let m = d.count
    var table = [[Int32]](repeating: [Int32](repeating: 0, count: m + 1), count: n + 1)
    if n > 0 && m > 0 {
      for i in stride(from: n - 1, through: 0, by: -1) {
        for j in stride(from: m - 1, through: 0, by: -1) {
          table[i][j] =
            equal(s[i].version, d[j].version) ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
        }
      }
    }
    var out: [Outcome] = []
    var gapS: [Item] = []
    var gapD: [Item] = []
    var i = 0
    var j = 0
    while i < n && j < m {
      if equal(s[i].version, d[j].version) && table[i][j] == table[i + 1][j + 1] + 1 {
        out += pair(gapS, gapD)
        gapS = []
        gapD = []
        out.append(.same(s[i], d[j]))
        i += 1
        j += 1
      } else if table[i + 1][j] >= table[i][j + 1] {
        gapS.append(s[i])
        i += 1
      } else {
        gapD.append(d[j])
        j += 1
      }
    }
    gapS += s[i...]
    gapD += d[j...]
    out += pair(gapS, gapD)
    return (out, false)
  }

  /// Whether two versions are the same for the alignment.
  static func equal(_ a: ObjectVersion, _ b: ObjectVersion) -> Bool {
    if a.isDeleteMarker || b.isDeleteMarker { return a.isDeleteMarker == b.isDeleteMarker }
    if case .identical = verdict(a, b) { return true }
    return false
  }

  static func verdict(_ a: ObjectVersion, _ b: ObjectVersion) -> ContentVerdict {
    ContentCheck.decide(.init(size: a.size, etag: a.etag), .init(size: b.size, etag: b.etag), level: .etag)
  }

  /// One gap: versions paired in order, markers never paired, the rest left over.
  private static func pair(_ s: [Item], _ d: [Item]) -> [Outcome] {
    let sv = s.filter { !$0.version.isDeleteMarker }
    let dv = d.filter { !$0.version.isDeleteMarker }
    var out: [Outcome] = []
    for (a, b) in zip(sv, dv) { out.append(.different(a, b, verdict(a.version, b.version))) }
    out += sv.dropFirst(dv.count).map { .missingInDestination($0) }
    out += dv.dropFirst(sv.count).map { .onlyInDestination($0) }
    out += s.filter(\.version.isDeleteMarker).map { .missingInDestination($0) }
    out += d.filter(\.version.isDeleteMarker).map { .onlyInDestination($0) }
    return out
  }
}
