internal import COpenSSL

/// An incremental MD5 or SHA-256 over streamed bytes (OpenSSL's EVP API), owning its context.
/// Used by one thread at a time.
public final class Digest {
  public enum Algorithm: Sendable {
    case md5, sha256
    var name: String {
      switch self {
      case .md5: return "MD5"
      case .sha256: return "SHA256"
      }
    }
    var size: Int {
      switch self {
      case .md5: return 16
      case .sha256: return 32
      }
    }
  }

  public let algorithm: Algorithm
  private let md: OpaquePointer
  private let ctx: OpaquePointer

  public init(_ algorithm: Algorithm) {
    self.algorithm = algorithm
    guard let md = EVP_MD_fetch(nil, algorithm.name, nil) else { fatalError("OpenSSL has no \(algorithm.name)") }
    guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
    self.md = md
    self.ctx = ctx
    reset()
  }

  deinit {
    EVP_MD_CTX_free(ctx)
    EVP_MD_free(md)
  }

  /// Starts over, as if just made.
  public func reset() {
    precondition(EVP_DigestInit_ex2(ctx, md, nil) == 1, "digest init failed")
  }

  public func update(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count > 0 else { return }
    precondition(EVP_DigestUpdate(ctx, bytes.baseAddress, bytes.count) == 1, "digest update failed")
  }

  public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

  /// The digest of everything since the last reset; the digest then starts over.
  public func finish() -> [UInt8] {
    var out = [UInt8](repeating: 0, count: algorithm.size)
    var length: UInt32 = 0
    let ok = out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(ctx, $0.baseAddress, &length) } == 1
    precondition(ok && Int(length) == algorithm.size, "digest final failed")
    reset()
    return out
  }
}
