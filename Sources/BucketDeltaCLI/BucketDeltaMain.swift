import ArgumentParser
import BucketDelta
#if canImport(Glibc)
  import Glibc
#endif

/// Process entry: parses the command line and maps usage errors to exit status 2, as the tool we
/// replace does (argparse exits 2).
public enum BucketDeltaMain {
  public static func main(_ arguments: [String]? = nil) -> Never {
    signal(SIGPIPE, SIG_IGN)
    // Before any thread starts: SIGINT/SIGTERM save checkpoints instead of killing the run
    // (workers get the default actions back when they are spawned).
    installInterruptHandlers()
    do {
      var command = try BucketDeltaCommand.parseAsRoot(arguments)
      try command.run()
      exit(ExitStatus.identical.rawValue)
    } catch {
      let code = BucketDeltaCommand.exitCode(for: error)
      if code == .validationFailure {
        let message = BucketDeltaCommand.fullMessage(for: error)
        writeStandardError("bucket-delta: error: \(message)\n")
        exit(ExitStatus.error.rawValue)
      }
      BucketDeltaCommand.exit(withError: error)
    }
  }
}
