import ArgumentParser
import BucketDelta
import S3

#if canImport(Glibc)
  import Glibc
#endif

/// Process entry: parses the command line and maps usage errors to exit status 2, as the tool we
/// replace does (argparse exits 2).
public enum BucketDeltaMain {
  public static func main(_ arguments: [String]? = nil) -> Never {
    Crypto.disableCleanupAtExit()
    // Listing pages are parsed on lister threads and freed by the merge thread: with glibc's default
    // of up to 8 arenas per core, memory freed across threads piles up in arenas (measured: 60 MB
    // against 55 MB peak at 100,000 objects with 4 range listers per bucket).
    MallocArenas.limit(2)
    signal(SIGPIPE, SIG_IGN)
    // Before any thread starts: SIGINT/SIGTERM save checkpoints instead of killing the run
    // (workers get the default actions back when they are spawned).
    installInterruptHandlers()
    do {
      var command = try BucketDeltaCommand.parseAsRoot(arguments)
      try command.run()
      finish(ExitStatus.identical.rawValue)
    } catch let code as ExitCode {
      finish(code.rawValue)
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

  /// Ends a run: flushes stdio and leaves with `_exit`, skipping `atexit` handlers and static
  /// destructors, which would run while listing threads that outlived a failed pair are still busy.
  /// Everything that matters (reports, checkpoints, summaries) is already written and synced.
  /// Why listing threads are not joined: a closed listing stops at its next page, but the request in flight
  /// cannot be cancelled, and against a stalled server it lasts up to the request timeout (120 s) per
  /// attempt; the fault tests' stalled connections would hold a failed run's exit that long.
  static func finish(_ status: Int32) -> Never {
    fflush(nil)
    _exit(status)
  }
}
