/// Python's `repr()` of a `str`, so text reports keep the byte-exact line shapes of the tool we
/// replace (which prints `str(list_of_strings)`).
public enum PythonRepr {
  /// `repr(s)`: single quotes unless `s` contains `'` and no `"`; escapes for `\`, the quote,
  /// `\t \n \r`, and non-printable characters (`\xNN`, `\uNNNN`, `\UNNNNNNNN`).
  public static func string(_ s: String) -> String {
    let hasSingle = s.utf8.contains(0x27)
    let hasDouble = s.utf8.contains(0x22)
    let quote: Character = (hasSingle && !hasDouble) ? "\"" : "'"
    var out = String(quote)
    out.reserveCapacity(s.utf8.count + 2)
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\\": out += "\\\\"
      case "\t": out += "\\t"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      default:
        if Character(scalar) == quote {
          out += "\\\(quote)"
        } else if isPrintable(scalar) {
          out.unicodeScalars.append(scalar)
        } else {
          out += escape(scalar)
        }
      }
    }
    out.append(quote)
    return out
  }

  /// `str(list)` of strings: `['a', 'b']`.
  public static func list(_ items: [String]) -> String {
    "[" + items.map(string).joined(separator: ", ") + "]"
  }

  /// Python's `str.isprintable()` for one character: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp,
  /// Zs, except the ASCII space.
  static func isPrintable(_ c: Unicode.Scalar) -> Bool {
    if c == " " { return true }
    switch c.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator,
      .paragraphSeparator, .spaceSeparator:
      return false
    default:
      return true
    }
  }

  private static func escape(_ c: Unicode.Scalar) -> String {
    let v = c.value
    let hex = String(v, radix: 16)
    if v < 0x100 { return "\\x" + String(repeating: "0", count: 2 - hex.count) + hex }
    if v < 0x10000 { return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex }
    return "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
  }
}
