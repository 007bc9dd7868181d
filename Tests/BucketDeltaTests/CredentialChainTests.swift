import BucketDelta
import Foundation
import Testing

@Suite("Credential chain: explicit variables, profile, AWS_* variables, AWS_PROFILE/default")
struct CredentialChainTests {
  let file = """
    # comment
    [default]
    aws_access_key_id = DEFAULTAK
    aws_secret_access_key = defaultsecret

    [backup]
    AWS_ACCESS_KEY_ID=BACKUPAK
    aws_secret_access_key=backupsecret
    aws_session_token = backuptoken
    ; another comment
    [broken]
    aws_access_key_id = ONLYAK
    """

  private func chain(_ env: [String: String], file: String? = nil, path: String = "/home/u/.aws/credentials")
    -> CredentialChain
  {
    var e = env
    e["HOME"] = "/home/u"
    return CredentialChain(environment: e) { p in p == path ? file : nil }
  }

  private func resolved(_ c: CredentialChain, _ r: CredentialChain.Request = .init()) throws -> CredentialChain.Resolved
  {
    try c.resolve(r).get()
  }

  @Test("Named environment variables come first, even when a profile file and AWS_* exist")
  func explicitFirst() throws {
    let c = chain(
      [
        "MY_AK": "myak", "MY_SK": "mysk", "MY_T": "myt", "AWS_ACCESS_KEY_ID": "envak", "AWS_SECRET_ACCESS_KEY": "envsk",
      ], file: file)
    let r = try resolved(c, .init(accessKeyEnv: "MY_AK", secretKeyEnv: "MY_SK", sessionTokenEnv: "MY_T"))
    #expect(
      r.credentials.accessKeyID == "myak" && r.credentials.secretAccessKey == "mysk"
        && r.credentials.sessionToken == "myt")
    #expect(r.source == "environment variables MY_AK/MY_SK")
  }

  @Test("A named profile beats AWS_* variables; keys are case-insensitive; the session token is read")
  func profile() throws {
    let c = chain(["AWS_ACCESS_KEY_ID": "envak", "AWS_SECRET_ACCESS_KEY": "envsk"], file: file)
    let r = try resolved(c, .init(profile: "backup"))
    #expect(r.credentials.accessKeyID == "BACKUPAK" && r.credentials.secretAccessKey == "backupsecret")
    #expect(r.credentials.sessionToken == "backuptoken")
    #expect(r.source == "profile 'backup' in /home/u/.aws/credentials")
  }

  @Test("Nothing named: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) before the default profile")
  func awsVariables() throws {
    let c = chain(
      ["AWS_ACCESS_KEY_ID": "envak", "AWS_SECRET_ACCESS_KEY": "envsk", "AWS_SESSION_TOKEN": "envt"], file: file)
    let r = try resolved(c)
    #expect(r.credentials.accessKeyID == "envak" && r.credentials.sessionToken == "envt")
  }

  @Test("Then AWS_PROFILE, else default, from AWS_SHARED_CREDENTIALS_FILE when set")
  func defaultProfile() throws {
    #expect(try resolved(chain([:], file: file)).credentials.accessKeyID == "DEFAULTAK")
    #expect(try resolved(chain(["AWS_PROFILE": "backup"], file: file)).credentials.accessKeyID == "BACKUPAK")
    let moved = chain(["AWS_SHARED_CREDENTIALS_FILE": "/etc/bd/creds"], file: file, path: "/etc/bd/creds")
    let r = try resolved(moved)
    #expect(r.credentials.accessKeyID == "DEFAULTAK" && r.source == "profile 'default' in /etc/bd/creds")
  }

  @Test(
    "Every failure says what was tried or what is wrong",
    arguments: [
      (
        ["AWS_ACCESS_KEY_ID": "only-half"], nil as String?, CredentialChain.Request(),
        "no credentials found: tried access_key_env/secret_key_env and profile (neither is set for this endpoint), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set), and profile 'default' in /home/u/.aws/credentials (no such file)"
      ),
      (
        [:], "[other]\naws_access_key_id=a\naws_secret_access_key=b\n", CredentialChain.Request(),
        "no credentials found: tried access_key_env/secret_key_env and profile (neither is set for this endpoint), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set), and profile 'default' in /home/u/.aws/credentials (no such profile)"
      ),
      (
        ["AWS_PROFILE": "nope"], "[default]\naws_access_key_id=a\naws_secret_access_key=b\n", CredentialChain.Request(),
        "profile 'nope' is not in /home/u/.aws/credentials (profiles there: default)"
      ),
      (
        [:], nil, CredentialChain.Request(profile: "backup"),
        "profile 'backup': no shared credentials file at /home/u/.aws/credentials"
      ),
      (
        [:], "[broken]\naws_access_key_id=a\n", CredentialChain.Request(profile: "broken"),
        "profile 'broken' in /home/u/.aws/credentials lacks aws_access_key_id or aws_secret_access_key"
      ),
      (
        ["A": "x"], nil, CredentialChain.Request(accessKeyEnv: "A", secretKeyEnv: "B"),
        "environment variable B is not set"
      ),
      (
        [:], nil, CredentialChain.Request(accessKeyEnv: "A"), "access_key_env and secret_key_env go together: name both"
      ),
      (
        [:], nil, CredentialChain.Request(accessKeyEnv: "A", secretKeyEnv: "B", profile: "p"),
        "name either access_key_env/secret_key_env or profile, not both"
      ),
    ])
  func failures(env: [String: String], file: String?, request: CredentialChain.Request, expected: String) {
    switch chain(env, file: file).resolve(request) {
    case .success(let r): Issue.record("resolved from \(r.source)")
    case .failure(let e): #expect(e.description == expected)
    }
  }

  @Test("A manifest endpoint with a profile; unset variables are reported at their field")
  func manifest() throws {
    let text = """
      version: 1
      endpoints:
        a: { url: "http://127.0.0.1:1", profile: backup }
        b: { url: "http://127.0.0.1:2" }
        c: { url: "http://127.0.0.1:3", access_key_env: UNSET_AK, secret_key_env: UNSET_SK }
      pairs:
        - { name: p, source: { endpoint: a, bucket: x }, destination: { endpoint: b, bucket: y } }
      """
    var d = ManifestDecoder(
      file: "m.yaml", environment: ["HOME": "/home/u", "AWS_ACCESS_KEY_ID": "envak", "AWS_SECRET_ACCESS_KEY": "envsk"])
    d.readFile = { $0 == "/home/u/.aws/credentials" ? file : nil }
    do {
      _ = try d.decode(text)
      Issue.record("decoded")
    } catch {
      #expect(
        error.diagnostics.map(\.description) == [
          "m.yaml:5:51: error: endpoints.c.access_key_env: environment variable UNSET_AK is not set",
          "m.yaml:5:77: error: endpoints.c.secret_key_env: environment variable UNSET_SK is not set",
        ])
    }
    let ok = text.split(separator: "\n").filter { !$0.contains("UNSET") }.joined(separator: "\n")
    var fresh = ManifestDecoder(file: "m.yaml", environment: d.environment)
    fresh.readFile = d.readFile
    let m = try fresh.decode(ok)
    #expect(m.endpoints["a"]?.credentials.accessKeyID == "BACKUPAK")
    #expect(m.endpoints["b"]?.credentials.accessKeyID == "envak")
  }
}
