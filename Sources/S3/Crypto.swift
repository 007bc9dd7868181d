internal import COpenSSL

/// SHA-256 and HMAC-SHA256 through OpenSSL 3's non-deprecated one-shot APIs.
public enum Crypto {
  /// Keeps OpenSSL from tearing itself down in an `atexit` handler. The process exits while
  /// listing or retrying threads may still be inside OpenSSL (signing, TLS); freeing its providers
  /// under them crashes the exit (SIGSEGV seen under load). Call first thing in `main`.
  public static func disableCleanupAtExit() {
    _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
  }

  /// SHA-256 digest of `data`.
  public static func sha256(_ data: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    let ok = data.withUnsafeBytes { input in
      out.withUnsafeMutableBytes { output in
        EVP_Digest(
          input.baseAddress, input.count,
          output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length, EVP_sha256(), nil)
      }
    }
    precondition(ok == 1 && length == 32, "EVP_Digest(SHA-256) failed")
    return out
  }

  /// HMAC-SHA256 of `data` under `key`.
  public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    let result = key.withUnsafeBytes { k in
      data.withUnsafeBytes { d in
        out.withUnsafeMutableBytes { o in
          HMAC(
            EVP_sha256(), k.baseAddress, Int32(k.count),
            d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count,
            o.baseAddress!.assumingMemoryBound(to: UInt8.self), &length)
        }
      }
    }
    precondition(result != nil && length == 32, "HMAC(SHA-256) failed")
    return out
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
