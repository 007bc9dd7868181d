/// An access key pair with an optional session token. Its description never shows the secret.
public struct Credentials: Sendable, Codable, CustomStringConvertible, CustomDebugStringConvertible {
  public var accessKeyID: String
  public var secretAccessKey: String
  public var sessionToken: String?

  public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
    self.accessKeyID = accessKeyID
    self.secretAccessKey = secretAccessKey
    self.sessionToken = sessionToken
  }

  public var description: String { "Credentials(accessKeyID: <redacted>, secret: <redacted>)" }
  public var debugDescription: String { description }
}
