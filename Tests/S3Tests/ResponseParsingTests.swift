import Foundation
import Testing

@testable import S3

@Suite("XML responses")
struct ResponseParsingTests {
  private func page(_ xml: String) throws -> ListObjectsV2Page {
    try ListObjectsV2Page.parse(Array(xml.utf8))
  }

  private let head =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"

  @Test("A truncated page with URL-encoded keys (both space spellings) and quoted ETags")
  func encodedPage() throws {
    let p = try page(
      head + """
        <Name>b</Name><Prefix></Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>
        <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
        <NextContinuationToken>tok/+=</NextContinuationToken>
        <Contents><Key>a+b%2Bc%25d</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>
          <ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>
        <Contents><Key>caf%C3%A9%20%F0%9F%98%80</Key><ETag>"x-2"</ETag><Size>1099511627776</Size></Contents>
        <Contents><Key>ctl%01%0A%09</Key><ETag>e</ETag><Size>0</Size></Contents>
        </ListBucketResult>
        """)
    #expect(p.isTruncated)
    #expect(p.nextContinuationToken == "tok/+=")
    #expect(p.objects.map(\.key) == ["a b+c%d", "café 😀", "ctl\u{01}\n\t"])
    #expect(p.objects.map(\.etag) == ["0cc175b9c0f1b6a831c399e269772661", "x-2", "e"])
    #expect(p.objects[1].size == 1_099_511_627_776)
    #expect(p.objects[0].lastModified == "2026-01-01T00:00:00.000Z")
  }

  @Test("Keys are not decoded when the answer does not say EncodingType=url")
  func unencodedPage() throws {
    let p = try page(
      head
        + "<IsTruncated>false</IsTruncated><Contents><Key>a+b%41 &amp;</Key><Size>1</Size></Contents></ListBucketResult>"
    )
    #expect(p.objects.map(\.key) == ["a+b%41 &"])
    #expect(!p.isTruncated)
  }

  @Test("An empty bucket")
  func empty() throws {
    let p = try page(head + "<Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>")
    #expect(p.objects.isEmpty)
  }

  @Test(
    "Protocol violations are errors",
    arguments: [
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
      "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken></NextContinuationToken></ListBucketResult>",
      "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>k</Key><Size>12x</Size></Contents></ListBucketResult>",
      "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%ZZ</Key><Size>1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%FF</Key><Size>1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
      "<Other/>",
      "<ListBucketResult><Contents><Key>k</Key></ListBucketResult>",
      "<html><body>not s3</body>",
      "",
      "<!DOCTYPE x [<!ENTITY a \"b\">]><ListBucketResult/>",
      "<ListBucketResult>&unknown;</ListBucketResult>",
      "<ListBucketResult></ListBucketResult>trailing",
    ])
  func violations(xml: String) {
    #expect(throws: ProtocolError.self) { try page(xml) }
  }

  @Test("Nesting deeper than the limit is refused, not a stack overflow")
  func deepNesting() {
    let xml = String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000)
    #expect(throws: XMLParseError.self) { try S3XMLParser.parse(Array(xml.utf8)) }
  }

  @Test("Entities, CDATA and comments")
  func entities() throws {
    let n = try S3XMLParser.parse(Array("<r><!-- c --><t>&lt;&#65;&#x1F600;<![CDATA[<raw>]]>&apos;</t></r>".utf8))
    #expect(n.text(of: "t") == "<A😀<raw>'")
  }

  @Test("Text runs: split by comments, CDATA and child elements, joined; non-ASCII kept byte for byte")
  func textRuns() throws {
    let n = try S3XMLParser.parse(Array("<r>a<!-- c -->b<x>ü😀</x>c&amp;d<![CDATA[e]]>f</r>".utf8))
    #expect(n.text == "abc&def")
    #expect(n.text(of: "x") == "ü😀")
    #expect(n.child("x")?.text.utf8.count == 6)
    let empty = try S3XMLParser.parse(Array("<r><k></k><e/></r>".utf8))
    #expect(empty.text(of: "k") == "")
    #expect(empty.text(of: "e") == "")
  }

  @Test(
    "Bytes that are not UTF-8, and bad character references, are refused",
    arguments: [
      [0x3C, 0x72, 0x3E, 0xFF, 0x3C, 0x2F, 0x72, 0x3E],  // <r>\xFF</r>
      [0x3C, 0x72, 0x3E, 0x61, 0xC3, 0x3C, 0x2F, 0x72, 0x3E],  // <r>a + half of ü</r>
      [0x3C, 0x72, 0xC3, 0x3E, 0x3C, 0x2F, 0x72, 0xC3, 0x3E],  // a name with half of ü
      Array("<r>&#x110000;</r>".utf8), Array("<r>&#;</r>".utf8), Array("<r>&#xZZ;</r>".utf8),
      Array("<r>&#+65;</r>".utf8), Array("<r>&#xD800;</r>".utf8), Array("<r>&#99999999999;</r>".utf8),
    ] as [[UInt8]])
  func notUTF8(bytes: [UInt8]) {
    #expect(throws: XMLParseError.self) { try S3XMLParser.parse(bytes) }
  }

  @Test("ETags lose one pair of quotes, plain or as &quot;")
  func etags() {
    #expect(unquoteETag("\"abc\"") == "abc")
    #expect(unquoteETag("abc") == "abc")
    #expect(unquoteETag("&quot;abc&quot;") == "abc")
    #expect(unquoteETag("\"abc-2\"") == "abc-2")
    #expect(unquoteETag("\"") == "")
    #expect(unquoteETag("") == "")
    #expect(unquoteETag("\"ü\"") == "ü")
  }

  @Test("S3 error bodies become code, message and request id")
  func errorBody() {
    let xml =
      "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><RequestId>R123</RequestId></Error>"
    let r = HTTPResponse(status: 404, headers: [], body: Array(xml.utf8))
    let e = ServiceErrorBody.parse(status: 404, body: r.body, headers: r)
    #expect(e.code == "NoSuchBucket")
    #expect(e.message == "The specified bucket does not exist")
    #expect(e.requestID == "R123")
    let head = HTTPResponse(status: 403, headers: [("x-amz-request-id", "H1")], body: [])
    let h = ServiceErrorBody.parse(status: 403, body: [], headers: head)
    #expect(h.code == "AccessDenied")
    #expect(h.requestID == "H1")
  }

  @Test("URI encoding and form decoding")
  func encoding() {
    #expect(URIEncoding.encode("a b/c~d_e.f-g+h%", keepSlash: true) == "a%20b/c~d_e.f-g%2Bh%25")
    #expect(URIEncoding.encode("a/b") == "a%2Fb")
    #expect(URIEncoding.formDecode("a+b%20c%2B") == "a b c+")
    #expect(URIEncoding.formDecode("%E2%82") == nil)
    #expect(URIEncoding.formDecode("%4") == nil)
    #expect(URIEncoding.formDecode("plain/key-ü") == "plain/key-ü")
    #expect(URIEncoding.formDecode("%C3%BC+%F0%9F%98%80") == "ü 😀")
  }
}
