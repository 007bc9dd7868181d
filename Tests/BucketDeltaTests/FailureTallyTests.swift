import Foundation
import Logging
import Testing

@testable import BucketDelta

/// Collects log lines (level and message).
final class CapturedLog: @unchecked Sendable {
  // @unchecked: `lines` is guarded by `lock`.
  private let lock = NSLock()
  private var _lines: [String] = []
  var lines: [String] { lock.withLock { _lines } }
  func add(_ s: String) { lock.withLock { _lines.append(s) } }

  var logger: Logger {
    Logger(label: "test") { _ in CapturingHandler(log: self) }
  }
}

struct CapturingHandler: LogHandler {
  let log: CapturedLog
  var logLevel: Logger.Level = .trace
  var metadata: Logger.Metadata = [:]
  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }
  func log(event: LogEvent) { log.add("\(event.level): \(event.message)") }
}

@Suite("Failure tally")
struct FailureTallyTests {
  private func failed(_ key: String, _ failures: [KeyFailure]) -> Difference {
    var d = Difference(key: key, status: .error, fields: [], source: nil, destination: nil, error: "error of \(key)")
    d.failures = failures
    return d
  }

  @Test(
    "1,000 keys failing for one cause: 3 logged in full, one line saying the rest are counted, one count at the end")
  func repeatsCounted() {
    let log = CapturedLog()
    var tally = FailureTally()
    let timeout = KeyFailure(side: "source", operation: "HeadObject", kind: "transport error: timeout")
    let notFound = KeyFailure(side: "destination", operation: "HeadObject", kind: "HTTP 404 NotFound")
    for i in 0..<1000 { #expect(tally.record(failed("k\(i)", [timeout]), logger: log.logger) == nil) }
    #expect(tally.record(failed("other", [notFound]), logger: log.logger) == nil)
    tally.logCounts(logger: log.logger)
    let lines = log.lines
    #expect(lines.filter { $0.contains("Deep check failed for key") }.count == 4)
    #expect(lines.contains("error: Deep check failed for key k2: error of k2"))
    #expect(!lines.contains { $0.contains("key k3:") })
    #expect(
      lines.contains(
        "error: Further keys failing with the same cause (source HeadObject: transport error: timeout) are counted, not logged"
      ))
    #expect(
      lines.last
        == "error: 997 more keys could not be checked (1000 in all) because of: source HeadObject: transport error: timeout"
    )
    #expect(lines.count == 6)
  }

  @Test(
    "AccessDenied to one operation on one side stops the pair at the third key; other sides and operations count apart")
  func deniedStops() {
    let log = CapturedLog()
    var tally = FailureTally()
    let tagging = KeyFailure(side: "destination", operation: "GetObjectTagging", kind: "HTTP 403 AccessDenied")
    let head = KeyFailure(side: "source", operation: "HeadObject", kind: "HTTP 403 AccessDenied")
    #expect(tally.record(failed("a", [tagging]), logger: log.logger) == nil)
    #expect(tally.record(failed("b", [head]), logger: log.logger) == nil)
    #expect(tally.record(failed("c", [tagging, head]), logger: log.logger) == nil)
    #expect(tally.record(failed("d", [head]), logger: log.logger) == head)
    #expect(tally.firstKey(head) == "b")
    #expect(tally.record(failed("e", [tagging]), logger: log.logger) == tagging)
    #expect(tally.firstKey(tagging) == "a")
    // a 403 that is not AccessDenied (e.g. a signature problem) never stops a pair as a permission
    var other = FailureTally()
    let signature = KeyFailure(side: "source", operation: "HeadObject", kind: "HTTP 403 SignatureDoesNotMatch")
    for i in 0..<5 { #expect(other.record(failed("s\(i)", [signature]), logger: log.logger) == nil) }
  }

  @Test("The stop message names the operation, the permission, the bucket, the first key and the way out")
  func stopMessage() {
    let tagging = PermissionStop(
      failure: KeyFailure(side: "destination", operation: "GetObjectTagging", kind: "HTTP 403 AccessDenied"),
      bucket: "b",
      endpoint: "http://h:1", firstKey: "k/1", count: 3)
    #expect(
      tagging.description
        == "the destination credentials may not GetObjectTagging in bucket 'b' at http://h:1: 3 keys were refused with HTTP 403 AccessDenied (the first: 'k/1'). Grant s3:GetObjectTagging on that bucket to these credentials, or compare without tags (compare_object_tags: false, --compare_object_tags false), then run again with --resume: the checkpoint continues before the first refused key"
    )
    let head = PermissionStop(
      failure: KeyFailure(side: "source", operation: "HeadObject", kind: "HTTP 403 AccessDenied"), bucket: "b",
      endpoint: "http://h:1", firstKey: "k", count: 3)
    #expect(head.description.contains("Grant s3:GetObject on that bucket"))
    #expect(!head.description.contains("compare_object_tags"))
  }
}
