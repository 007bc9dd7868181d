import ArgumentParser
import BucketDelta
import Logging

/// `bucket-delta __worker`: a deep-check worker process, started by the coordinator. Hidden.
/// Its configuration (credentials included) arrives on stdin, never on the command line.
struct WorkerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "__worker", abstract: "Deep-check worker (started by bucket-delta itself).", shouldDisplay: false)

  func run() throws {
    let status = DeepCheckWorker.run(
      logger: { level in
        Logger(label: "bucket-delta-worker") { _ in BucketDeltaLogHandler(level: level.level) }
      }, exitStatus: { ExitStatus.code(for: $0) })
    throw ExitCode(status)
  }
}
