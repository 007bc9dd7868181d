import Testing

@testable import BucketDelta

@Suite("Sign-off page pieces")
struct SignoffPageUnitTests {
  @Test("Text is escaped for element content and quoted attributes; control characters are shown, not passed")
  func escaping() {
    #expect(
      SignoffPage.escape("<script>\"x\"&'y'</script>") == "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;")
    #expect(SignoffPage.escape("a\nb\u{7F}") == "a\\u{a}b\\u{7f}")
    #expect(SignoffPage.escape("\u{202E}ü\u{200B}") == "\u{202E}ü\u{200B}")
  }

  @Test("Identities and command lines never show a secret")
  func masking() {
    #expect(SignoffPage.maskKeyID("AKIAIOSFODNN7EXAMPLE") == "****************MPLE")
    #expect(SignoffPage.maskKeyID("abc") == "***")
    #expect(
      SignoffPage.maskedArguments([
        "bucket-delta", "--source_secret_key", "s3cr3t", "--destination_access_key=AKIA1234", "--source_bucket_name",
        "b", "--source_session_token", "tok",
      ]) == [
        "bucket-delta", "--source_secret_key", "****", "--destination_access_key=****", "--source_bucket_name", "b",
        "--source_session_token", "****",
      ])
  }
}
