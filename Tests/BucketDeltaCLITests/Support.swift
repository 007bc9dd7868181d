import Foundation
import Testing

/// The repository root, from this file's path.
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// A failure of the test harness itself (not of the code under test).
struct HarnessError: Error, CustomStringConvertible {
  var description: String
}

/// The S3 servers `scripts/test-servers.sh` started for this run. Tests that need them fail (never
/// skip) when they are missing: run the suite with `make test`.
struct TestServers {
  let seaweed: String
  let moto: String
  let accessKey: String
  let secretKey: String

  static func fromEnvironment() throws -> TestServers {
    let env = ProcessInfo.processInfo.environment
    guard let sw = env["BD_SEAWEED_URL"], let moto = env["BD_MOTO_URL"], let ak = env["BD_S3_ACCESS_KEY"],
      let sk = env["BD_S3_SECRET_KEY"]
    else {
      throw HarnessError(
        description: "BD_SEAWEED_URL/BD_MOTO_URL are not set: the S3 test servers are not running. Run `make test`.")
    }
    return TestServers(seaweed: sw, moto: moto, accessKey: ak, secretKey: sk)
  }
}

/// What a finished process left behind.
struct ProcessOutput {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Runs `executable` with `arguments`, output captured through files (no pipe deadlocks).
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws
  -> ProcessOutput
{
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bd-proc-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: dir) }
  let out = dir.appendingPathComponent("out")
  let err = dir.appendingPathComponent("err")
  _ = FileManager.default.createFile(atPath: out.path, contents: nil)
  _ = FileManager.default.createFile(atPath: err.path, contents: nil)
  let p = Process()
  p.executableURL = URL(fileURLWithPath: executable)
  p.arguments = arguments
  if let environment { p.environment = environment }
  p.standardOutput = try FileHandle(forWritingTo: out)
  p.standardError = try FileHandle(forWritingTo: err)
  p.standardInput = FileHandle.nullDevice
  try p.run()
  p.waitUntilExit()
  return ProcessOutput(
    status: p.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
    stderr: try String(contentsOf: err, encoding: .utf8))
}

/// The built `bucket-delta` executable (next to the test bundle).
func toolPath() throws -> String {
  if let p = ProcessInfo.processInfo.environment["BD_BINARY"] { return p }
  let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
  var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
  // swift-testing may run from inside the .xctest bundle directory
  for _ in 0..<4 {
    let candidate = dir.appendingPathComponent("bucket-delta").path
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    dir = dir.deletingLastPathComponent()
  }
  throw HarnessError(description: "bucket-delta executable not found near \(exe); build it first")
}

/// The Python of the project's .venv (boto3 lives there).
func pythonPath() -> String {
  ProcessInfo.processInfo.environment["BD_PYTHON"] ?? repoRoot.appendingPathComponent(".venv/bin/python").path
}

/// The expected reports of a fixture pair, as computed by the boto3 fixture script.
struct Truth: Decodable {
  struct Side: Decodable, Equatable {
    var etag: String
    var size: Int64
  }
  struct Record: Decodable {
    var key: String
    var status: String
    var differences: [String]
    var source: Side?
    var destination: Side?
  }
  var text: [String]
  var jsonl: [Record]
  var objects: Int
  var differences: Int
}

/// A lower-case bucket name no other test uses.
func uniqueBucket(_ stem: String) -> String {
  "\(stem)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// Runs the boto3 fixture `Tests/fixtures/SCRIPT` with the test servers' credentials; returns its
/// standard output (a failing fixture is a harness error carrying its standard error).
func runFixture(_ script: String, _ arguments: [String], servers: TestServers) throws -> String {
  var env = ProcessInfo.processInfo.environment
  env["BD_S3_ACCESS_KEY"] = servers.accessKey
  env["BD_S3_SECRET_KEY"] = servers.secretKey
  let r = try runProcess(
    pythonPath(), [repoRoot.appendingPathComponent("Tests/fixtures/\(script)").path] + arguments, environment: env)
  guard r.status == 0 else { throw HarnessError(description: "\(script) failed: \(r.stderr)") }
  return r.stdout
}

/// Creates a bucket pair with boto3 and returns what bucket-delta must report about it.
func makePair(
  servers: TestServers, scenario: String, sourceURL: String, destinationURL: String, sourceBucket: String,
  destinationBucket: String, extra: [String] = []
) throws -> Truth {
  let out = try runFixture(
    "make_pair.py",
    [
      "--source-url", sourceURL, "--dest-url", destinationURL, "--source-bucket", sourceBucket, "--dest-bucket",
      destinationBucket, "--scenario", scenario,
    ] + extra, servers: servers)
  return try JSONDecoder().decode(Truth.self, from: Data(out.utf8))
}

/// A SeaweedFS pair (buckets STEM-src-*, STEM-dst-*) of the `full` scenario with `bulk` more objects,
/// made with boto3; assign it to a global or static `let` so that it is made once per test process.
func seaweedPair(_ stem: String, bulk: Int, scenario: String = "full") -> Result<
  (truth: Truth, source: String, destination: String), any Error
> {
  Result {
    let servers = try TestServers.fromEnvironment()
    let s = uniqueBucket("\(stem)-src")
    let d = uniqueBucket("\(stem)-dst")
    let truth = try makePair(
      servers: servers, scenario: scenario, sourceURL: servers.seaweed, destinationURL: servers.seaweed,
      sourceBucket: s,
      destinationBucket: d, extra: ["--bulk", String(bulk)])
    return (truth, s, d)
  }
}

/// Arguments of a single-pair run.
func pairArguments(
  servers: TestServers, sourceURL: String, sourceBucket: String, destinationURL: String, destinationBucket: String,
  output: String, secret: String? = nil
) -> [String] {
  [
    "--source_bucket_name", sourceBucket, "--source_endpoint_url", sourceURL,
    "--source_access_key", servers.accessKey, "--source_secret_key", secret ?? servers.secretKey,
    "--destination_bucket_name", destinationBucket, "--destination_endpoint_url", destinationURL,
    "--destination_access_key", servers.accessKey, "--destination_secret_key", secret ?? servers.secretKey,
    "--output_file", output,
  ]
}

/// A fresh temporary directory.
func temporaryDirectory() throws -> URL {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bd-test-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  return dir
}

/// Waits up to 10 s for a helper server to write its port number to `path`.
func waitForPortFile(_ path: String) -> String? {
  for _ in 0..<200 {
    if let p = try? String(contentsOfFile: path, encoding: .utf8), !p.isEmpty { return p }
    usleep(50_000)
  }
  return nil
}

/// The parts of the JSON summary the tests read.
struct SummaryFile: Decodable {
  struct Pair: Decodable {
    var name: String
    var status: String
    var objects_compared: Int
    var only_in_source: Int
    var only_in_destination: Int
    var different: Int
    var errors: Int
    var requests: Int
    var retries: Int
    var throttled: Int
    var error: String?
  }
  var status: String
  var exit_code: Int
  var pairs: [Pair]
}

/// A helper server from Tests/fixtures (a Python script) that writes its port number to a file;
/// killed with SIGKILL when released (a SIGTERM can arrive blocked in children of test threads).
final class FixtureServer {
  private let process = Process()
  let port: String

  init(script: String, arguments: [String], portFile: String, quiet: Bool = true) throws {
    process.executableURL = URL(fileURLWithPath: pythonPath())
    process.arguments = [repoRoot.appendingPathComponent("Tests/fixtures/\(script)").path] + arguments
    if quiet { process.standardError = FileHandle.nullDevice }
    try process.run()
    guard let port = waitForPortFile(portFile) else {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      throw HarnessError(description: "\(script) did not start")
    }
    self.port = port
  }

  deinit {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}
