import Foundation
import Testing

/// The fault-injecting proxy (Tests/fixtures/fault_proxy.py) in front of the test SeaweedFS.
final class FaultProxy {
  let process = Process()
  let url: String
  let portFile: String

  init(upstream: String, rates: [String: Double], seed: Int = 1) throws {
    let dir = try temporaryDirectory()
    portFile = dir.appendingPathComponent("port").path
    process.executableURL = URL(fileURLWithPath: pythonPath())
    process.arguments =
      [repoRoot.appendingPathComponent("Tests/fixtures/fault_proxy.py").path, upstream, portFile, "--seed", String(seed)]
      + rates.flatMap { ["--\($0.key)", String($0.value)] }
    process.standardError = FileHandle.nullDevice
    try process.run()
    guard let port = waitForPortFile(portFile) else {
      kill(process.processIdentifier, SIGKILL)
      throw HarnessError(description: "fault proxy did not start")
    }
    url = "http://127.0.0.1:\(port)"
  }

  /// Stops injecting faults (requests are forwarded unchanged).
  func faultsOff() { _ = FileManager.default.createFile(atPath: portFile + ".off", contents: Data()) }

  func counts() -> [String: Int] {
    guard let d = FileManager.default.contents(atPath: portFile + ".counts") else { return [:] }
    return (try? JSONSerialization.jsonObject(with: d) as? [String: Int]) ?? [:]
  }

  deinit {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}

@Suite("Faults between the tool and the server", .serialized)
struct FaultTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  private func args(_ url: String, _ pair: (truth: Truth, source: String, destination: String), report: String, deep: Bool) -> [String] {
    [
      "--source_bucket_name", pair.source, "--source_endpoint_url", url,
      "--destination_bucket_name", pair.destination, "--destination_endpoint_url", url,
      "--output_file", report, "--shallow_check", deep ? "false" : "true", "--num_processes", "2",
      "--num_connections", "4", "--list_page_size", deep ? "200" : "20", "--max_attempts", "12",
    ]
  }

  private func env(_ state: URL) -> [String: String] {
    var e = ProcessInfo.processInfo.environment
    e["AWS_ACCESS_KEY_ID"] = servers.accessKey
    e["AWS_SECRET_ACCESS_KEY"] = servers.secretKey
    e["BUCKET_DELTA_STATE_DIR"] = state.path
    return e
  }

  @Test("10% 503, 5% 500, 2% resets, 2% truncated bodies: the same report as a clean run", arguments: [false, true])
  func absorbed(deep: Bool) throws {
    let pair = try resumePair.get()
    let proxy = try FaultProxy(
      upstream: servers.seaweed, rates: ["p503": 0.10, "p500": 0.05, "preset": 0.02, "ptrunc": 0.02], seed: deep ? 2 : 1)
    let dir = try temporaryDirectory()
    let report = dir.appendingPathComponent("r.txt").path
    let r = try runProcess(try toolPath(), args(proxy.url, pair, report: report, deep: deep), environment: env(dir))
    #expect(r.status == 1, "stderr: \(r.stderr.suffix(2000))")
    #expect(try String(contentsOfFile: report, encoding: .utf8) == pair.truth.text.map { $0 + "\n" }.joined())
    let c = proxy.counts()
    #expect((c["503"] ?? 0) > 0 && (c["500"] ?? 0) > 0 && (c["reset"] ?? 0) > 0 && (c["truncated"] ?? 0) > 0, "\(c)")
    #expect(r.stderr.contains("Retrying in"))
  }

  @Test("Faults the retries cannot absorb: exit 2, a clear message, and a checkpoint that --resume completes")
  func unabsorbable() throws {
    let pair = try resumePair.get()
    let proxy = try FaultProxy(upstream: servers.seaweed, rates: ["p503": 0.6])
    let dir = try temporaryDirectory()
    let report = dir.appendingPathComponent("r.txt").path
    let a = args(proxy.url, pair, report: report, deep: false).dropLast(2) + ["--max_attempts", "2"]
    let r = try runProcess(try toolPath(), Array(a), environment: env(dir))
    #expect(r.status == 2)
    #expect(r.stderr.contains("HTTP 503 SlowDown"), "\(r.stderr.suffix(1500))")
    #expect(r.stderr.contains("after 2 attempts"))
    proxy.faultsOff()
    let resumed = try runProcess(try toolPath(), Array(a) + ["--resume"], environment: env(dir))
    #expect(resumed.status == 1, "\(resumed.stderr.suffix(1500))")
    #expect(try String(contentsOfFile: report, encoding: .utf8) == pair.truth.text.map { $0 + "\n" }.joined())
  }
}
