import BucketDelta
import Foundation
import Testing

@testable import BucketDeltaCLI

@Suite("Progress display text")
struct ProgressDisplayTests {
  @Test("Progress line: estimate first, from the last run's count or, once both listings end, the longer listing")
  func progressLine() {
    var s = PairProgress.Snapshot()
    s.compared = 500
    s.listedSource = 1000
    s.listedDestination = 900
    #expect(
      ProgressDisplay.line(name: "p", s, elapsed: 10)
        == "p: ETA unknown yet, compared 500, 0 differences, 50 obj/s, listed 1,000+ | 900+, elapsed 0:00:10")
    s.sourceListed = true
    s.destinationListed = true
    #expect(ProgressDisplay.line(name: "p", s, elapsed: 10).hasPrefix("p: 50%, ETA 0:00:10, compared 500"))
    s.previousTotal = 2000
    #expect(ProgressDisplay.line(name: "p", s, elapsed: 10).hasPrefix("p: 25%, ETA 0:00:30,"))
    let cut = ProgressDisplay.line(name: String(repeating: "n", count: 50), s, elapsed: 10, width: 40)
    #expect(cut.count == 39 && cut.hasSuffix("~") && cut.hasPrefix(String(repeating: "n", count: 31) + "~:"))
    s.bytesRead = 300 << 20
    #expect(ProgressDisplay.line(name: "p", s, elapsed: 10).contains(" 50 obj/s, read 300 MiB at 30 MiB/s, listed"))
  }
}
