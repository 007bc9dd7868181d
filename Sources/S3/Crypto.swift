internal import COpenSSL

/// SHA-256 and HMAC-SHA256 through OpenSSL 3's non-deprecated EVP digest API.
public enum Crypto {
  /// Keeps OpenSSL from tearing itself down in an `atexit` handler. The process exits while
  /// listing or retrying threads may still be inside OpenSSL (signing, TLS); freeing its providers
  /// under them crashes the exit (SIGSEGV seen under load). Call first thing in `main`.
  public static func disableCleanupAtExit() {
    _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
  }

  /// SHA-256 fetched from the default provider once. `EVP_sha256()` in `EVP_Digest`/`HMAC` made
  /// OpenSSL 3 look the algorithm up again on every call: 10% of a deep-check worker's CPU.
  private nonisolated(unsafe) static let sha256Algorithm: OpaquePointer = {
    guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("OpenSSL has no SHA256") }
    return md
  }()

  /// SHA-256 digest of `data`.
  public static func sha256(_ data: [UInt8]) -> [UInt8] { digest(data, []) }

  /// SHA-256 of `first` followed by `second`.
  private static func digest(_ first: [UInt8], _ second: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
    defer { EVP_MD_CTX_free(ctx) }
    var ok = EVP_DigestInit_ex2(ctx, sha256Algorithm, nil) == 1
    ok = ok && first.withUnsafeBytes { EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) } == 1
    ok = ok && second.withUnsafeBytes { EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) } == 1
    ok = ok && out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(ctx, $0.baseAddress, &length) } == 1
    precondition(ok && length == 32, "SHA-256 failed")
    return out
  }

  /// HMAC-SHA256 of `data` under `key` (RFC 2104 over the fetched SHA-256: two digests).
  public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
    var block = key.count > 64 ? sha256(key) : key
    block += [UInt8](repeating: 0, count: 64 - block.count)
    let inner = digest(block.map { $0 ^ 0x36 }, data)
    return digest(block.map { $0 ^ 0x5C }, inner)
  }

  /// Lower-case hexadecimal spelling of `bytes`.
  public static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Hex SHA-256 of the empty payload, used for every bodiless request.
  public static let emptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}
