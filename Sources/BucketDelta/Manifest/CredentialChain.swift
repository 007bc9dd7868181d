import Foundation
import S3

/// Finds an endpoint's credentials the way the AWS CLI does, from the first source that applies:
///
/// 1. `access_key_env` / `secret_key_env` (and `session_token_env`): the named environment variables;
/// 2. `profile`: that profile of the shared credentials file;
/// 3. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`);
/// 4. the profile named by `AWS_PROFILE`, else `default`, in the shared credentials file.
///
/// The shared credentials file is `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
/// A source that is named but broken (an unset variable, a missing profile) is an error, not a
/// reason to fall through to the next one.
public struct CredentialChain {
  public var environment: [String: String]
  /// Reads a file's text, nil when it cannot be read (injected for tests).
  public var readFile: (String) -> String?

  public init(environment: [String: String], readFile: @escaping (String) -> String? = CredentialChain.readTextFile) {
    self.environment = environment
    self.readFile = readFile
  }

  /// What an endpoint names explicitly.
  public struct Request: Sendable {
    public var accessKeyEnv: String?
    public var secretKeyEnv: String?
    public var sessionTokenEnv: String?
    public var profile: String?
    public init(
      accessKeyEnv: String? = nil, secretKeyEnv: String? = nil, sessionTokenEnv: String? = nil, profile: String? = nil
    ) {
      self.accessKeyEnv = accessKeyEnv
      self.secretKeyEnv = secretKeyEnv
      self.sessionTokenEnv = sessionTokenEnv
      self.profile = profile
    }
  }

  /// Found credentials and a description of where they came from (no secret in it).
  public struct Resolved: Sendable {
    public var credentials: Credentials
    public var source: String
  }

  /// Why no credentials could be found; `description` names every source tried.
  public struct Failure: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// Problems that belong to one named field (`access_key_env`, ...): field and message.
    public var fields: [(String, String)] = []
  }

  /// A file's UTF-8 text, nil when it cannot be read (the default file reader here and in the
  /// manifest decoder).
  public static func readTextFile(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).flatMap { String(data: $0, encoding: .utf8) }
  }

  /// The shared credentials file's path.
  public var sharedFilePath: String {
    if let p = environment["AWS_SHARED_CREDENTIALS_FILE"], !p.isEmpty { return p }
    let home = environment["HOME"] ?? NSHomeDirectory()
    return (home as NSString).appendingPathComponent(".aws/credentials")
  }

  public func resolve(_ request: Request) -> Result<Resolved, Failure> {
    if request.accessKeyEnv != nil || request.secretKeyEnv != nil {
      if request.profile != nil {
        return .failure(Failure(description: "name either access_key_env/secret_key_env or profile, not both"))
      }
      guard let akName = request.accessKeyEnv, let skName = request.secretKeyEnv else {
        return .failure(Failure(description: "access_key_env and secret_key_env go together: name both"))
      }
      var missing: [(String, String)] = []
      let ak = value(akName)
      let sk = value(skName)
      if ak == nil { missing.append(("access_key_env", akName)) }
      if sk == nil { missing.append(("secret_key_env", skName)) }
      var token: String?
      if let tName = request.sessionTokenEnv {
        token = value(tName)
        if token == nil { missing.append(("session_token_env", tName)) }
      }
      guard missing.isEmpty, let ak, let sk else {
        return .failure(
          Failure(
            description: "environment variable \(missing.map(\.1).joined(separator: ", ")) is not set",
            fields: missing.map { ($0.0, "environment variable \($0.1) is not set") }))
      }
      return .success(
        Resolved(
          credentials: Credentials(accessKeyID: ak, secretAccessKey: sk, sessionToken: token),
          source: "environment variables \(akName)/\(skName)"))
    }
    if request.sessionTokenEnv != nil {
      return .failure(Failure(description: "session_token_env needs access_key_env and secret_key_env"))
    }
    if let profile = request.profile {
      return fromProfile(profile, required: true)
        ?? .failure(Failure(description: "profile '\(profile)': no shared credentials file at \(sharedFilePath)"))
    }
    if let ak = value("AWS_ACCESS_KEY_ID"), let sk = value("AWS_SECRET_ACCESS_KEY") {
      return .success(
        Resolved(
          credentials: Credentials(accessKeyID: ak, secretAccessKey: sk, sessionToken: value("AWS_SESSION_TOKEN")),
          source: "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"))
    }
    let named = value("AWS_PROFILE")
    if let found = fromProfile(named ?? "default", required: named != nil) { return found }
    return .failure(
      Failure(
        description:
          "no credentials found: tried access_key_env/secret_key_env and profile (neither is set for this endpoint), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set), and profile '\(named ?? "default")' in \(sharedFilePath) (\(readFile(sharedFilePath) == nil ? "no such file" : "no such profile"))"
      ))
  }

  private func value(_ name: String) -> String? {
    guard let v = environment[name], !v.isEmpty else { return nil }
    return v
  }

  /// nil when the file does not exist, or (not `required`) the profile is not in it.
  private func fromProfile(_ name: String, required: Bool) -> Result<Resolved, Failure>? {
    let path = sharedFilePath
    guard let text = readFile(path) else { return nil }
    let profiles = Self.parseSharedFile(text)
    guard let section = profiles[name] else {
      if !required { return nil }
      let known = profiles.keys.sorted()
      return .failure(
        Failure(
          description:
            "profile '\(name)' is not in \(path) (profiles there: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
        ))
    }
    guard let ak = section["aws_access_key_id"], !ak.isEmpty, let sk = section["aws_secret_access_key"], !sk.isEmpty
    else {
      return .failure(
        Failure(description: "profile '\(name)' in \(path) lacks aws_access_key_id or aws_secret_access_key"))
    }
    let token = section["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
    return .success(
      Resolved(
        credentials: Credentials(accessKeyID: ak, secretAccessKey: sk, sessionToken: token),
        source: "profile '\(name)' in \(path)"))
  }

  /// Parses the INI text of a shared credentials file: `[name]` sections of `key = value` lines,
  /// `#` and `;` comments; keys are case-insensitive.
  public static func parseSharedFile(_ text: String) -> [String: [String: String]] {
    var out: [String: [String: String]] = [:]
    var current: String?
    for raw in text.split(whereSeparator: \.isNewline) {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
      if line.hasPrefix("[") && line.hasSuffix("]") {
        let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        current = name
        if out[name] == nil { out[name] = [:] }
        continue
      }
      guard let current, let eq = line.firstIndex(of: "=") else { continue }
      let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
      let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
      out[current]?[key] = value
    }
    return out
  }
}
