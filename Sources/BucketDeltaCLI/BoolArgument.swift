import ArgumentParser

/// `true`/`false` option values as the tool we replace takes them (`--shallow_check false`).
public struct BoolArgument: ExpressibleByArgument, Sendable, Equatable {
  public var value: Bool

  public init(_ value: Bool) { self.value = value }

  public init?(argument: String) {
    switch argument.lowercased() {
    case "true", "t", "yes", "y", "1": value = true
    case "false", "f", "no", "n", "0": value = false
    default: return nil
    }
  }

  public var defaultValueDescription: String { value ? "true" : "false" }
  public static var allValueStrings: [String] { ["true", "false"] }
}
