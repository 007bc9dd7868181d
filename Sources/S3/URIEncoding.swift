/// Percent-encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - _ . ~` is `%XX` (upper case).
public enum URIEncoding {
  private static let hexDigits = Array("0123456789ABCDEF".utf8)

  @inline(__always)
  private static func isUnreserved(_ b: UInt8) -> Bool {
    (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
      || b == 0x2D || b == 0x5F || b == 0x2E || b == 0x7E
  }

  /// Encodes `value`; with `keepSlash` a `/` is left as is (object key paths).
  public static func encode(_ value: String, keepSlash: Bool = false) -> String {
    var out = [UInt8]()
    out.reserveCapacity(value.utf8.count)
    for b in value.utf8 {
      if isUnreserved(b) || (keepSlash && b == 0x2F) {
        out.append(b)
      } else {
        out.append(0x25)
        out.append(hexDigits[Int(b >> 4)])
        out.append(hexDigits[Int(b & 0x0f)])
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Decodes `application/x-www-form-urlencoded` text as S3 sends keys with `encoding-type=url`:
  /// `+` is a space, `%XX` a byte. Returns nil for a malformed escape or bytes that are not UTF-8.
  public static func formDecode(_ value: String) -> String? {
    // Most keys have nothing to decode: keep the string (a String is valid UTF-8 already).
    if !value.utf8.contains(where: { $0 == 0x2B || $0 == 0x25 }) { return value }
    var bytes = [UInt8]()
    bytes.reserveCapacity(value.utf8.count)
    var it = value.utf8.makeIterator()
    while let b = it.next() {
      switch b {
      case 0x2B: bytes.append(0x20)
      case 0x25:
        guard let h = it.next(), let l = it.next(), let hv = hexValue(h), let lv = hexValue(l) else {
          return nil
        }
        bytes.append(hv << 4 | lv)
      default: bytes.append(b)
      }
    }
    return bytes.withUnsafeBufferPointer { S3XMLParser.string($0) }
  }

  private static func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 0x30...0x39: return b - 0x30
    case 0x41...0x46: return b - 0x41 + 10
    case 0x61...0x66: return b - 0x61 + 10
    default: return nil
    }
  }
}
