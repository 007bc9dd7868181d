import BucketDelta
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The status block at the bottom of a terminal: one line per running pair, redrawn a few times a
/// second. Log lines go above it (`write(_:)`), so the two never garble each other. Used only when
/// stderr is a terminal (or `--progress`); off a terminal the periodic log lines stand alone.
public final class ProgressDisplay: ProgressReporter, @unchecked Sendable {
  // @unchecked: mutable state is guarded by `lock`, which is also the condition the redraw thread
  // sleeps on between redraws (woken early by `stop`).
  private let lock = NSCondition()
  private let fd: Int32
  private let interval: Double
  private var pairs: [PairProgress] = []
  private var drawn = 0
  private var running = false
  /// Signalled by the redraw thread when it ends; `stop` waits on it (it joins the thread).
  private let finished = DispatchSemaphore(value: 0)
  private var started = false
  private let now: @Sendable () -> Date

  /// The display log lines must go through while it runs.
  public nonisolated(unsafe) static var current: ProgressDisplay?
  private static let currentLock = NSLock()

  public init(fd: Int32 = 2, interval: Double = 0.25, now: @escaping @Sendable () -> Date = { Date() }) {
    self.fd = fd
    self.interval = interval
    self.now = now
  }

  /// A display when `explicit` is true, or when it is nil and stderr is a terminal (not `TERM=dumb`).
  public static func choose(explicit: Bool?, environment: [String: String] = ProcessInfo.processInfo.environment)
    -> ProgressDisplay?
  {
    let on = explicit ?? (isatty(2) == 1 && environment["TERM"] != "dumb")
    return on ? ProgressDisplay() : nil
  }

  /// Starts redrawing; log output written with `ProgressDisplay.write` goes above the block.
  public func start() {
    lock.withLock {
      running = true
      started = true
    }
    Self.currentLock.withLock { Self.current = self }
    let t = Thread { [self] in
      while lock.withLock({ running }) {
        redraw()
        lock.lock()
        if running { _ = lock.wait(until: Date().addingTimeInterval(interval)) }
        lock.unlock()
      }
      finished.signal()
    }
    t.name = "progress"
    t.start()
  }

  /// Stops redrawing and removes the block from the screen.
  public func stop() {
    let wasStarted: Bool = lock.withLock {
      running = false
      lock.broadcast()
      defer { started = false }
      return started
    }
    if wasStarted { finished.wait() }  // the redraw thread has ended: nothing draws after this
    Self.currentLock.withLock { if Self.current === self { Self.current = nil } }
    lock.withLock {
      writeAll(fd: fd, Array(clearSequence().utf8))
      drawn = 0
    }
  }

  public func add(_ p: PairProgress) { lock.withLock { pairs.append(p) } }

  public func remove(_ p: PairProgress) {
    lock.withLock { pairs.removeAll { $0 === p } }
    redraw()
  }

  /// Writes log text above the status block (or plainly when no display runs).
  public static func write(_ text: String) {
    if let d = currentLock.withLock({ current }) {
      d.lock.withLock {
        writeAll(fd: d.fd, Array((d.clearSequence() + text + d.block()).utf8))
      }
    } else {
      writeAll(fd: 2, Array(text.utf8))
    }
  }

  private func redraw() {
    lock.withLock {
      writeAll(fd: fd, Array((clearSequence() + block()).utf8))
    }
  }

  /// Moves to the start of the drawn block and clears to the end of the screen. Caller holds `lock`.
  private func clearSequence() -> String {
    guard drawn > 0 else { return "" }
    return (drawn > 1 ? "\u{1B}[\(drawn - 1)A" : "") + "\r\u{1B}[J"
  }

  /// The block's text (no trailing newline, so the cursor stays on its last line). Caller holds `lock`.
  private func block() -> String {
    let width = Self.columns(fd)
    let t = now()
    let lines = pairs.map {
      Self.line(name: $0.name, $0.snapshot, elapsed: t.timeIntervalSince($0.started), width: width)
    }
    drawn = lines.count
    return lines.joined(separator: "\n")
  }

  /// One status line, cut to `width` columns so that it never wraps: the estimate first, the
  /// listing counts last (`+` while a side is still listing).
  public static func line(name: String, _ s: PairProgress.Snapshot, elapsed: Double, width: Int = 200) -> String {
    let rate = elapsed > 0 ? Double(s.compared) / elapsed : 0
    let shortName = name.count > 32 ? String(name.prefix(31)) + "~" : name
    // Expected total: the previous run's, else (both listings done) the longer listing.
    let expected: Int? =
      s.previousTotal
      ?? (s.sourceListed && s.destinationListed ? max(s.listedSource, s.listedDestination) : nil)
    var estimate = "ETA unknown yet"
    if let expected, expected > 0, rate > 0 {
      let remaining = max(0, expected - s.compared)
      let percent = min(99, s.compared * 100 / expected)
      estimate = "\(percent)%, ETA \(clock(Double(remaining) / rate))"
    }
    // Content reads (verify: content): the bytes read and their rate.
    let reading =
      s.bytesRead > 0
      ? ", read \(grouped(Int(s.bytesRead >> 20))) MiB at \(grouped(Int((Double(s.bytesRead) / 1_048_576 / max(elapsed, 0.001)).rounded()))) MiB/s"
      : ""
    var text =
      "\(shortName): \(estimate), compared \(grouped(s.compared)), \(grouped(s.differences)) differences, \(grouped(Int(rate.rounded()))) obj/s\(reading), listed \(grouped(s.listedSource))\(s.sourceListed ? "" : "+") | \(grouped(s.listedDestination))\(s.destinationListed ? "" : "+"), elapsed \(clock(elapsed))"
    if text.count > width - 1 { text = String(text.prefix(max(10, width - 2))) + "~" }
    return text
  }

  static func grouped(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, c) in digits.reversed().enumerated() {
      if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
      out.append(c)
    }
    return String(out.reversed())
  }

  static func clock(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
  }

  static func columns(_ fd: Int32) -> Int {
    var w = winsize()
    if ioctl(fd, UInt(TIOCGWINSZ), &w) == 0 && w.ws_col > 10 { return Int(w.ws_col) }
    return 100
  }
}
