import Foundation
import Testing

@testable import BucketDelta

@Suite("JUnit, Prometheus and progress text")
struct CIOutputTests {
  private func pair(_ name: String, _ status: PairStatus, error: String? = nil) -> PairSummary {
    PairSummary(
      name: name, status: status, check: "shallow", source: "a:b/", destination: "c:d/", objects_compared: 10,
      only_in_source: status == .different ? 1 : 0, only_in_destination: 0, different: 0, errors: 0,
      duration_seconds: 1.5,
      objects_per_second: 6.67, report: "/r/\(name).txt", sorted_listings: [], worker_restarts: 0, resumed: 0,
      requests: 4,
      retries: 1, throttled: 0, error: error)
  }

  private func summary(_ pairs: [PairSummary], exit: Int32) -> RunSummary {
    RunSummary(
      tool_version: "t", started_at: "2026-01-01T00:00:00Z", finished_at: "2026-01-01T00:00:02Z", status: .error,
      exit_code: exit, pairs: pairs)
  }

  @Test("A pair that errors keeps its earlier last-success time; others get this run's; label values are escaped")
  func lastSuccessCarriesOver() {
    let first = PrometheusMetrics.text(
      summary([pair("a", .identical), pair("we\"ird\\name", .different)], exit: 1),
      finishedAt: Date(timeIntervalSince1970: 1000), previous: nil)
    #expect(first.contains("bucket_delta_last_success_timestamp_seconds{pair=\"a\"} 1000.000\n"))
    #expect(first.contains("bucket_delta_last_success_timestamp_seconds{pair=\"we\\\"ird\\\\name\"} 1000.000\n"))
    let second = PrometheusMetrics.text(
      summary([pair("a", .error, error: "boom"), pair("we\"ird\\name", .identical)], exit: 2),
      finishedAt: Date(timeIntervalSince1970: 2000), previous: first)
    #expect(second.contains("bucket_delta_last_success_timestamp_seconds{pair=\"a\"} 1000.000\n"))
    #expect(second.contains("bucket_delta_last_success_timestamp_seconds{pair=\"we\\\"ird\\\\name\"} 2000.000\n"))
    #expect(second.contains("bucket_delta_pair_status{pair=\"a\",status=\"error\"} 1\n"))
    #expect(second.contains("bucket_delta_exit_code 2\n"))
  }

  @Test("JUnit text: markup and control characters in keys cannot break the XML")
  func junitEscapes() {
    let xml = JUnitReport.xml(summary([pair("p", .different)], exit: 1)) { _ in ["key <a&b> \"q\" \u{01}end"] }
    #expect(xml.contains("key &lt;a&amp;b&gt; &quot;q&quot; ?end"))
    #expect(xml.contains("<failure type=\"different\" message=\"10 objects compared: 1 only in source"))
  }

  @Test("An empty pair is a JUnit error unless empty listings were allowed; the metrics show the empty status")
  func emptyPairs() {
    let xml = JUnitReport.xml(
      summary([pair("refused", .empty, error: "both listings are empty"), pair("allowed", .empty)], exit: 2)
    ) { _ in [] }
    #expect(xml.contains("tests=\"2\" failures=\"0\" errors=\"1\""))
    #expect(xml.contains("<error type=\"error\" message=\"both listings are empty\">"))
    #expect(xml.contains("<system-out>a:b/ -&gt; c:d/: empty, 10 objects compared"))
    let metrics = PrometheusMetrics.text(
      summary([pair("refused", .empty, error: "both listings are empty"), pair("allowed", .empty)], exit: 2),
      finishedAt: Date(timeIntervalSince1970: 1000), previous: nil)
    #expect(metrics.contains("bucket_delta_pair_status{pair=\"refused\",status=\"empty\"} 1\n"))
    #expect(metrics.contains("bucket_delta_pair_status{pair=\"refused\",status=\"error\"} 0\n"))
    #expect(!metrics.contains("bucket_delta_last_success_timestamp_seconds{pair=\"refused\"}"))
    #expect(metrics.contains("bucket_delta_last_success_timestamp_seconds{pair=\"allowed\"} 1000.000\n"))
  }

  @Test("An unverified pair is a JUnit failure of type unverified; the metrics count its unverified objects")
  func unverifiedPairs() {
    var p = pair("rechunked", .unverified)
    p.unverified = 3
    p.verify = "etag"
    p.bytes_read = 42
    let xml = JUnitReport.xml(summary([p, pair("same", .identical)], exit: 3)) { _ in
      ["Unverified Key: k, Reasons: ['multipart ETags with different part counts (6 vs 4)']"]
    }
    #expect(xml.contains("tests=\"2\" failures=\"1\" errors=\"0\""))
    #expect(
      xml.contains(
        "<failure type=\"unverified\" message=\"10 objects compared: 0 only in source, 0 only in destination, 0 different, 0 errors, 3 unverified (verify: etag)\">"
      ))
    #expect(xml.contains("multipart ETags with different part counts (6 vs 4)"))
    let metrics = PrometheusMetrics.text(
      summary([p], exit: 3), finishedAt: Date(timeIntervalSince1970: 1000), previous: nil)
    #expect(metrics.contains("bucket_delta_unverified{pair=\"rechunked\"} 3\n"))
    #expect(metrics.contains("bucket_delta_bytes_read{pair=\"rechunked\"} 42\n"))
    #expect(metrics.contains("bucket_delta_pair_status{pair=\"rechunked\",status=\"unverified\"} 1\n"))
    #expect(metrics.contains("bucket_delta_exit_code 3\n"))
  }

  @Test("Live and versioned pairs: version differences by kind, changed-after-cutoff and excluded counts in both files")
  func liveAndVersionCounts() {
    var p = pair("nightly", .different)
    p.only_in_source = 0
    p.version_differences = ["delete_marker_missing": 1, "version_missing_in_destination": 2]
    p.changed_after_cutoff = 5
    p.excluded = 7
    let metrics = PrometheusMetrics.text(
      summary([p, pair("same", .identical)], exit: 1), finishedAt: Date(timeIntervalSince1970: 1000), previous: nil)
    #expect(metrics.contains("bucket_delta_differences{pair=\"nightly\",kind=\"version_missing_in_destination\"} 2\n"))
    #expect(metrics.contains("bucket_delta_differences{pair=\"nightly\",kind=\"delete_marker_missing\"} 1\n"))
    #expect(!metrics.contains("bucket_delta_differences{pair=\"same\",kind=\"delete_marker_missing\"}"))
    #expect(metrics.contains("bucket_delta_changed_after_cutoff{pair=\"nightly\"} 5\n"))
    #expect(metrics.contains("bucket_delta_excluded{pair=\"nightly\"} 7\n"))
    #expect(metrics.contains("bucket_delta_changed_after_cutoff{pair=\"same\"} 0\n"))
    let xml = JUnitReport.xml(summary([p], exit: 1)) { _ in [] }
    #expect(
      xml.contains(
        "message=\"10 objects compared: 0 only in source, 0 only in destination, 0 different, 0 errors, 1 delete_marker_missing, 2 version_missing_in_destination, 5 changed after the cutoff, 7 excluded by filters\""
      ), "\(xml)")
  }

  @Test("Summary timestamps: ISO 8601 in UTC, seconds, zero-padded")
  func timestamps() {
    #expect(isoTimestamp(Date(timeIntervalSince1970: 1_764_131_045)) == "2025-11-26T04:24:05Z")
    #expect(isoTimestamp(Date(timeIntervalSince1970: 951_782_399.9)) == "2000-02-28T23:59:59Z")
    #expect(isoTimestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
  }
}
