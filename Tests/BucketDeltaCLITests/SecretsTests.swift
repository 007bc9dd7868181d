import Foundation
import Testing

@Suite("Secrets stay secret")
struct SecretsTests {
  let servers: TestServers
  init() throws { servers = try TestServers.fromEnvironment() }

  @Test("At DEBUG level, deep and shallow: no secret in logs, reports, summary, checkpoint or worker command lines")
  func nowhere() throws {
    let s = uniqueBucket("sec-src")
    let d = uniqueBucket("sec-dst")
    _ = try makePair(
      servers: servers, scenario: "small", sourceURL: servers.moto, destinationURL: servers.moto, sourceBucket: s,
      destinationBucket: d)
    // moto does not check signatures, so distinctive secrets work against it
    let secret = "Zq8-Distinctive-Secret-Value-41"
    let token = "Tk7-Distinctive-Session-Token-93"
    let dir = try temporaryDirectory()
    let state = dir.appendingPathComponent("state")
    var env = ProcessInfo.processInfo.environment
    env["AWS_ACCESS_KEY_ID"] = "AKIDISTINCTIVE"
    env["AWS_SECRET_ACCESS_KEY"] = secret
    env["AWS_SESSION_TOKEN"] = token
    env["BUCKET_DELTA_STATE_DIR"] = state.path
    var everything = ""
    for deep in [false, true] {
      let report = dir.appendingPathComponent("r-\(deep).jsonl").path
      let summary = dir.appendingPathComponent("s-\(deep).json").path
      let args = [
        "--source_bucket_name", s, "--source_endpoint_url", servers.moto, "--destination_bucket_name", d,
        "--destination_endpoint_url", servers.moto, "--output_file", report, "--output_format", "jsonl",
        "--summary", summary, "--log_level", "DEBUG", "--shallow_check", deep ? "false" : "true",
        "--num_processes", "1", "--num_connections", "1", "--max_queue_size", "1", "--num_objects_report", "5",
        "--junit", dir.appendingPathComponent("junit-\(deep).xml").path,
        "--metrics-file", dir.appendingPathComponent("metrics-\(deep).prom").path,
      ]
      let p = Process()
      p.executableURL = URL(fileURLWithPath: try toolPath())
      p.arguments = args
      p.environment = env
      let errPath = dir.appendingPathComponent("err-\(deep)").path
      _ = FileManager.default.createFile(atPath: errPath, contents: nil)
      p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
      p.standardOutput = FileHandle.nullDevice
      try p.run()
      if deep {
        // the worker's command line, while it runs; then SIGINT to get a checkpoint written
        var cmdlines = ""
        for _ in 0..<500 {
          let children =
            (try? String(
              contentsOfFile: "/proc/\(p.processIdentifier)/task/\(p.processIdentifier)/children", encoding: .utf8))
            ?? ""
          for pid in children.split(separator: " ") {
            cmdlines += (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
          }
          if cmdlines.contains("__worker") { break }
          usleep(10_000)
        }
        #expect(cmdlines.contains("__worker"))
        everything += cmdlines
        usleep(300_000)
        kill(p.processIdentifier, SIGINT)
      }
      p.waitUntilExit()
      if deep {
        #expect(p.terminationStatus == 130 || p.terminationStatus == 1)
        if p.terminationStatus == 130 {
          let files = (try? FileManager.default.contentsOfDirectory(atPath: state.path)) ?? []
          #expect(files.contains { $0.hasSuffix(".checkpoint") }, "SIGINT leaves a checkpoint")
        }
        for f in (try? FileManager.default.contentsOfDirectory(atPath: state.path)) ?? [] {
          everything += (try? String(contentsOfFile: state.appendingPathComponent(f).path, encoding: .utf8)) ?? ""
          let mode =
            (try FileManager.default.attributesOfItem(atPath: state.appendingPathComponent(f).path))[.posixPermissions]
            as? Int
          #expect(mode == 0o600, "\(f)")
        }
      } else {
        #expect(p.terminationStatus == 1)
        for f in [
          summary, dir.appendingPathComponent("junit-false.xml").path,
          dir.appendingPathComponent("metrics-false.prom").path,
        ] {
          let text = try String(contentsOfFile: f, encoding: .utf8)
          #expect(!text.isEmpty, "\(f)")
          everything += text
        }
      }
      let log = try String(contentsOfFile: errPath, encoding: .utf8)
      #expect(log.contains("DEBUG"))
      everything += log
      everything += (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
      // (an interrupted deep run may stop before its first record, and the report is created at the first)
      if !deep || FileManager.default.fileExists(atPath: report) {
        let mode = (try FileManager.default.attributesOfItem(atPath: report))[.posixPermissions] as? Int
        #expect(mode == 0o600)
      }
    }
    let stateMode = (try FileManager.default.attributesOfItem(atPath: state.path))[.posixPermissions] as? Int
    #expect(stateMode == 0o700)
    #expect(!everything.isEmpty)
    #expect(!everything.contains(secret))
    #expect(!everything.contains(token))
  }
}
