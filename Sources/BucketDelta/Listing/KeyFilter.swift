import Foundation

/// Include/exclude rules on keys (relative to the pair's prefix), rclone-style: evaluated in order, the
/// first matching rule decides, and when any include rule exists a key that matches no rule is left
/// out. A key is judged by its name alone, so it is left out of both sides alike.
public struct KeyFilter: Sendable, Equatable {
  public enum Rule: Sendable, Equatable, CustomStringConvertible {
    case include(String)
    case exclude(String)

    public var pattern: String {
      switch self {
      case .include(let p), .exclude(let p): return p
      }
    }
    public var description: String {
      switch self {
      case .include(let p): return "include \(p)"
      case .exclude(let p): return "exclude \(p)"
      }
    }
  }

  public let rules: [Rule]
  private let globs: [Glob]

  /// The filter of `rules`, or the first pattern that is not a valid glob and why.
  public static func make(_ rules: [Rule]) -> Result<KeyFilter, GlobError> {
    var globs: [Glob] = []
    for r in rules {
      switch Glob.compile(r.pattern) {
      case .success(let g): globs.append(g)
      case .failure(let e): return .failure(e)
      }
    }
    return .success(KeyFilter(rules: rules, globs: globs))
  }

  private init(rules: [Rule], globs: [Glob]) {
    self.rules = rules
    self.globs = globs
  }

  public static let none = KeyFilter(rules: [], globs: [])

  /// The literal start every included key has, or "" when the rules do not narrow the listing: when
  /// include rules exist, a key is compared only if one matches it, so it starts with that rule's
  /// literal part; with every include anchored (`/...`), all compared keys start with the longest
  /// common start of those parts.
  public var listingPrefix: String {
    let includes = zip(rules, globs).compactMap { r, g -> Glob? in
      if case .include = r { return g }
      return nil
    }
    guard let first = includes.first, includes.allSatisfy(\.anchored) else { return "" }
    var common = Array(first.literalPrefix.utf8)
    for g in includes.dropFirst() {
      common = Array(zip(common, Array(g.literalPrefix.utf8)).prefix { $0 == $1 }.map(\.0))
    }
    // Whole UTF-8 characters only.
    while !common.isEmpty, String(validating: common, as: UTF8.self) == nil { common.removeLast() }
    return String(decoding: common, as: UTF8.self)
  }
  public var isEmpty: Bool { rules.isEmpty }

  /// Whether `key` is compared, and the index of the rule that decided (nil: no rule matched).
  public func decide(_ key: String) -> (included: Bool, rule: Int?) {
    for (i, g) in globs.enumerated() where g.matches(key) {
      if case .include = rules[i] { return (true, i) }
      return (false, i)
    }
    return (!rules.contains { if case .include = $0 { return true } else { return false } }, nil)
  }
}

/// A glob pattern on keys: `*` any run of characters within a path segment, `**` any run across
/// segments, `?` one character other than `/`, `[...]` a character class (`[!...]` negated), `{a,b}`
/// alternatives, `\` quotes the next character. A pattern starting with `/` is anchored at the start of
/// the key; otherwise it may match from the start of any segment (`*.partial` matches `a/b.partial`). A
/// pattern ending in `/` matches everything under that directory (`tmp/` is `tmp/**`).
struct Glob: Sendable, Equatable {
  let pattern: String
  let anchored: Bool
  /// The pattern's characters before its first wildcard, quote or brace (after the anchoring `/`).
  let literalPrefix: String
  private let regex: NSRegularExpressionBox

  static func compile(_ pattern: String) -> Result<Glob, GlobError> {
    guard !pattern.isEmpty else { return .failure(GlobError(pattern: pattern, problem: "is empty")) }
    var chars = Array(pattern)
    let anchored = chars.first == "/"
    if anchored { chars.removeFirst() }
    if chars.last == "/" { chars += ["*", "*"] }
    var re = anchored ? "^" : "(?:^|/)"
    var i = 0
    var braces = 0
    func lit(_ c: Character) {
      re += NSRegularExpression.escapedPattern(for: String(c))
    }
    while i < chars.count {
      let c = chars[i]
      switch c {
      case "\\":
        guard i + 1 < chars.count else { return .failure(GlobError(pattern: pattern, problem: "ends with '\\'")) }
        i += 1
        lit(chars[i])
      case "*":
        if i + 1 < chars.count, chars[i + 1] == "*" {
          re += ".*"
          i += 1
        } else {
          re += "[^/]*"
        }
      case "?":
        re += "[^/]"
      case "[":
        guard let close = chars[(i + 1)...].dropFirst().firstIndex(of: "]") else {
          return .failure(GlobError(pattern: pattern, problem: "has '[' without ']'"))
        }
        var body = String(chars[(i + 1)..<close])
        if body.hasPrefix("!") { body = "^" + body.dropFirst() }
        body = body.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "[", with: "\\[")
        re += "[" + body + "]"
        i = close
      case "{":
        braces += 1
        re += "(?:"
      case "}":
        guard braces > 0 else { return .failure(GlobError(pattern: pattern, problem: "has '}' without '{'")) }
        braces -= 1
        re += ")"
      case "," where braces > 0:
        re += "|"
      default:
        lit(c)
      }
      i += 1
    }
    guard braces == 0 else { return .failure(GlobError(pattern: pattern, problem: "has '{' without '}'")) }
    re += "$"
    guard let regex = try? NSRegularExpression(pattern: re, options: [.dotMatchesLineSeparators]) else {
      return .failure(GlobError(pattern: pattern, problem: "is not a valid pattern"))
    }
    return .success(
      Glob(
        pattern: pattern, anchored: anchored,
        literalPrefix: String(chars.prefix { !"*?[{\\".contains($0) }), regex: NSRegularExpressionBox(regex)))
  }

  func matches(_ key: String) -> Bool {
    let range = NSRange(key.startIndex..<key.endIndex, in: key)
    return regex.value.firstMatch(in: key, options: [], range: range) != nil
  }

  static func == (a: Glob, b: Glob) -> Bool { a.pattern == b.pattern }
}

/// NSRegularExpression is immutable and safe to share between threads once made.
struct NSRegularExpressionBox: @unchecked Sendable {
  let value: NSRegularExpression
  init(_ value: NSRegularExpression) { self.value = value }
}

/// A filter pattern that is not a valid glob.
public struct GlobError: Error, Sendable, CustomStringConvertible {
  public var pattern: String
  public var problem: String
  public var description: String { "pattern '\(pattern)' \(problem)" }
}
