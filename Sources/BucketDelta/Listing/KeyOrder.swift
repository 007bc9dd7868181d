/// S3 orders keys by their UTF-8 bytes. `String ==` and `<` do not: they treat canonically
/// equivalent spellings (NFC "é" and NFD "e\u{301}") as equal. Every key comparison goes through here.
public enum KeyOrder {
  /// -1, 0 or 1 as `a` sorts before, equal to, or after `b` by UTF-8 bytes.
  @inline(__always)
  public static func compare(_ a: String, _ b: String) -> Int {
    var a = a
    var b = b
    return a.withUTF8 { pa in
      b.withUTF8 { pb in
        let n = min(pa.count, pb.count)
        if n > 0 {
          let r = memcmpBytes(pa.baseAddress!, pb.baseAddress!, n)
          if r != 0 { return r < 0 ? -1 : 1 }
        }
        return pa.count == pb.count ? 0 : (pa.count < pb.count ? -1 : 1)
      }
    }
  }

  /// Whether `a` and `b` are the same key byte for byte.
  @inline(__always)
  public static func equal(_ a: String, _ b: String) -> Bool { compare(a, b) == 0 }

  /// Whether `a` sorts strictly before `b`.
  @inline(__always)
  public static func less(_ a: String, _ b: String) -> Bool { compare(a, b) < 0 }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

@inline(__always)
private func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
  memcmp(a, b, n)
}
