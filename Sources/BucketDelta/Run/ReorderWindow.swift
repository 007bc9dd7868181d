import Foundation
import S3

/// Holds the keys between the merge and the report: results may finish out of order (deep checks
/// run in parallel), but they are handed out strictly in merge order, so reports are deterministic.
/// At most `capacity` keys are held: memory stays flat whatever the bucket size.
final class ReorderWindow: @unchecked Sendable {
  // @unchecked: all state is guarded by `condition`.
  private struct Entry {
    var event: MergeEvent
    var outcome: Difference?
  }

  private let condition = NSCondition()
  private var entries: [Int: Entry] = [:]
  private var nextToHandOut: Int

  /// - Parameter firstSeq: sequence number of the first key; results for lower numbers (from an
  ///   abandoned earlier attempt) are ignored.
  init(firstSeq: Int) {
    nextToHandOut = firstSeq
  }

  /// Registers a key; `outcome` nil means a worker's check is still to come.
  func add(seq: Int, event: MergeEvent, outcome: Difference?) {
    condition.lock()
    entries[seq] = Entry(event: event, outcome: outcome)
    condition.broadcast()
    condition.unlock()
  }

  /// Records a worker's result.
  func complete(_ r: WorkResult) {
    condition.lock()
    defer { condition.unlock() }
    guard var entry = entries[r.seq], entry.outcome == nil, case .inBoth(let s, let d) = entry.event else { return }
    if r.changedAfterCutoff == true {
      entry.outcome = Difference(
        key: s.key, status: .changedAfterCutoff, fields: [], source: s, destination: d, sourceDetails: r.source,
        destinationDetails: r.destination, reason: r.reason)
    } else if let error = r.error {
      var difference = Difference(
        key: s.key, status: .error, fields: [], source: s, destination: d, sourceDetails: r.source,
        destinationDetails: r.destination, error: error)
      difference.failures = r.failures ?? []
      entry.outcome = difference
    } else {
      let status: DifferenceStatus = !r.fields.isEmpty ? .different : r.reason != nil ? .unverified : .identical
      var record = Difference(
        key: s.key, status: status, fields: r.fields, source: s, destination: d, sourceDetails: r.source,
        destinationDetails: r.destination, verifiedBy: r.verifiedBy, reason: r.reason)
      record.bytesRead = r.bytesRead ?? 0
      record.tagFetchesSaved = r.tagFetchesSaved ?? 0
      entry.outcome = record
    }
    entries[r.seq] = entry
    condition.broadcast()
  }

  /// Wakes a `take` that waits, to look at its `failure` again (a worker pool that failed, a signal).
  func wake() {
    condition.lock()
    condition.broadcast()
    condition.unlock()
  }

  /// Hands out the finished keys that come next in order, waiting while `held >= limit`.
  /// `failure` is checked before each wait; whatever makes it non-nil calls `wake` (the pool's
  /// failure hook, the interrupt watcher), so waiting needs no timeout.
  func take(untilBelow limit: Int, failure: () -> Error?) throws -> [(MergeEvent, Difference)] {
    condition.lock()
    defer { condition.unlock() }
    var out: [(MergeEvent, Difference)] = []
    while true {
      while let e = entries[nextToHandOut], let o = e.outcome {
        out.append((e.event, o))
        entries[nextToHandOut] = nil
        nextToHandOut += 1
      }
      if entries.count < limit { return out }
      if let f = failure() { throw f }
      condition.wait()
    }
  }
}
