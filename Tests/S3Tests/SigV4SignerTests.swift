import Foundation
import Testing

@testable import S3

/// The examples of "Signature Calculations for the Authorization Header: Transferring Payload in a
/// Single Chunk" (Amazon S3 API reference), with their published signatures.
@Suite("SigV4 against AWS's published examples")
struct SigV4SignerTests {
  let signer = SigV4Signer(
    credentials: Credentials(
      accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    region: "us-east-1")
  // Fri, 24 May 2013 00:00:00 GMT
  let date = Date(timeIntervalSince1970: 1_369_353_600)

  private func authorization(_ headers: [(String, String)]) -> String? {
    headers.first { $0.0 == "authorization" }?.1
  }

  @Test("GET object with a Range header")
  func getObject() {
    let h = signer.sign(
      method: "GET", canonicalPath: "/test.txt", query: [],
      headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")], date: date)
    #expect(
      authorization(h)
        == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    #expect(h.contains { $0 == ("x-amz-date", "20130524T000000Z") })
  }

  @Test("GET bucket lifecycle (a valueless query parameter)")
  func getLifecycle() {
    let h = signer.sign(
      method: "GET", canonicalPath: "/", query: [("lifecycle", "")],
      headers: [("host", "examplebucket.s3.amazonaws.com")], date: date)
    #expect(
      authorization(h)?.hasSuffix("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543") == true)
  }

  @Test("GET bucket (list objects) with a sorted query")
  func listObjects() {
    let h = signer.sign(
      method: "GET", canonicalPath: "/", query: [("prefix", "J"), ("max-keys", "2")],
      headers: [("host", "examplebucket.s3.amazonaws.com")], date: date)
    #expect(
      authorization(h)?.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") == true)
  }

  @Test("A session token is signed and sent")
  func sessionToken() {
    let s = SigV4Signer(
      credentials: Credentials(accessKeyID: "AK", secretAccessKey: "SK", sessionToken: "TOKEN"), region: "eu-west-1")
    let h = s.sign(method: "GET", canonicalPath: "/", query: [], headers: [("host", "h")], date: date)
    #expect(h.contains { $0 == ("x-amz-security-token", "TOKEN") })
    #expect(
      authorization(h)?.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token") == true)
    #expect(authorization(h)?.contains("/20130524/eu-west-1/s3/aws4_request") == true)
  }

  @Test("Credentials never print their secret")
  func redaction() {
    let c = Credentials(accessKeyID: "AKIDVISIBLE", secretAccessKey: "s3cr3t-value", sessionToken: "tok-value")
    for text in ["\(c)", String(describing: c), String(reflecting: c)] {
      #expect(!text.contains("s3cr3t-value"))
      #expect(!text.contains("tok-value"))
    }
  }

  @Test("Query encoding: reserved characters, slash and unicode are percent-encoded, sorted by name")
  func canonicalQuery() {
    #expect(
      SigV4Signer.canonicalQuery([("start-after", "a b/ü+~"), ("list-type", "2"), ("encoding-type", "url")])
        == "encoding-type=url&list-type=2&start-after=a%20b%2F%C3%BC%2B~")
  }

  @Test("Header values are signed trimmed, inner runs of spaces folded to one")
  func foldedSpaces() {
    func signature(_ value: String) -> String? {
      authorization(
        signer.sign(method: "GET", canonicalPath: "/", query: [], headers: [("host", "h"), ("x-t", value)], date: date))
    }
    #expect(signature("  a   b ") == signature("a b"))
    #expect(signature("a  b") == signature("a b"))
    #expect(signature(" a b") == signature("a b"))
    #expect(signature("a b ") == signature("a b"))
    #expect(signature("ab") != signature("a b"))
    #expect(signature("a\tb") != signature("a b"))
  }

  @Test("Crypto primitives against known digests")
  func crypto() {
    #expect(Crypto.hex(Crypto.sha256([])) == Crypto.emptyPayloadHash)
    #expect(
      Crypto.hex(Crypto.sha256(Array("abc".utf8)))
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    // RFC 4231 test case 2
    #expect(
      Crypto.hex(Crypto.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8)))
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    // RFC 4231 test case 6: a key longer than the block is hashed first
    #expect(
      Crypto.hex(
        Crypto.hmacSHA256(
          key: [UInt8](repeating: 0xAA, count: 131),
          data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
        == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    // RFC 4231 test case 1, and a key of exactly one block
    #expect(
      Crypto.hex(Crypto.hmacSHA256(key: [UInt8](repeating: 0x0B, count: 20), data: Array("Hi There".utf8)))
        == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    #expect(
      Crypto.hmacSHA256(key: [UInt8](repeating: 7, count: 64), data: [1])
        != Crypto.hmacSHA256(key: [UInt8](repeating: 7, count: 63), data: [1]))
  }
}
