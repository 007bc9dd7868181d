import Foundation
import S3

/// The report file formats.
public enum ReportFormat: String, Sendable, CaseIterable {
  /// The line shapes of the tool we replace.
  case text
  /// One JSON object per difference (schemas/report-record.schema.json).
  case jsonl

  /// The extension of a report file in `output.dir` (`NAME.txt`, `NAME.jsonl`).
  public var fileExtension: String {
    switch self {
    case .text: return "txt"
    case .jsonl: return "jsonl"
    }
  }

  /// The report line for `d`, with its trailing newline. `showTimes` (a pair with an as-of cutoff) adds
  /// both sides' LastModified to the text lines; JSON Lines records always carry them.
  public func line(for d: Difference, sourceBucket: String, destinationBucket: String, showTimes: Bool = false)
    -> String
  {
    switch self {
    case .text:
      let line = TextReport.line(for: d, sourceBucket: sourceBucket, destinationBucket: destinationBucket)
      return (showTimes ? line + TextReport.times(d) : line) + "\n"
    case .jsonl: return JSONLReport.line(for: d) + "\n"
    }
  }
}

/// Lines of the text report:
/// ```
/// Only in source bucket SRC, Differences: ['Key: file1.txt', 'ETag: abc123', 'Size: 1024 bytes']
/// Only in destination bucket DST, Differences: ['Key: file2.txt', 'ETag: def456', 'Size: 2048 bytes']
/// Difference in Key: file3.txt, Differences: ['ETag differs', 'Size differs']
/// ```
/// and, beyond the replaced tool's shapes:
/// ```
/// Unverified Key: file4.bin, Reasons: ['multipart ETags with different part counts (6 vs 4)']
/// Identical Key: file5.bin, Verified by: checksum:CRC32   (only with report_matches)
/// Changed After Cutoff Key: file6.bin, Reasons: ['source modified after the cutoff']   (only with report_skipped)
/// ```
/// With an as-of cutoff every line ends with `, LastModified: ['SOURCE', 'DESTINATION']` (`-` for a side
/// without the key).
public enum TextReport {
  public static func line(for d: Difference, sourceBucket: String, destinationBucket: String) -> String {
    switch d.status {
    case .onlyInSource:
      return "Only in source bucket \(sourceBucket), Differences: \(items(d.source!))"
    case .onlyInDestination:
      return "Only in destination bucket \(destinationBucket), Differences: \(items(d.destination!))"
    case .different:
      return "Difference in Key: \(lineSafe(d.key)), Differences: \(PythonRepr.list(d.fields.map(\.textLabel)))"
    case .error:
      return
        "Difference in Key: \(lineSafe(d.key)), Differences: \(PythonRepr.list(["Deep check error: \(d.error ?? "unknown")"]))"
    case .unverified:
      return "Unverified Key: \(lineSafe(d.key)), Reasons: \(PythonRepr.list([d.reason ?? "unknown"]))"
    case .identical:
      return "Identical Key: \(lineSafe(d.key)), Verified by: \(d.verifiedBy ?? "unknown")"
    case .changedAfterCutoff:
      return "Changed After Cutoff Key: \(lineSafe(d.key)), Reasons: \(PythonRepr.list([d.reason ?? "unknown"]))"
    case .excluded:
      return "Excluded Key: \(lineSafe(d.key))"
    case .versionMissingInDestination, .versionOnlyInDestination, .versionDifferent, .deleteMarkerMissing,
      .deleteMarkerExtra:
      var items: [String] = []
      func describe(_ side: String, _ v: VersionRef?, _ o: ListedObject?) {
        guard let v else { return }
        items.append("\(side) version: \(v.id) (\(v.position) of \(v.count))")
        if let o, !v.isDeleteMarker { items += ["ETag: \(o.etag)", "Size: \(o.size) bytes"] }
      }
      describe("Source", d.sourceVersion, d.source)
      describe("Destination", d.destinationVersion, d.destination)
      if d.status == .versionDifferent { items += d.fields.map(\.textLabel) }
      let title = d.status.rawValue.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(
        separator: " ")
      return "\(title) Key: \(lineSafe(d.key)), Differences: \(PythonRepr.list(items))"
    }
  }

  /// `, LastModified: ['SOURCE', 'DESTINATION']`.
  static func times(_ d: Difference) -> String {
    ", LastModified: \(PythonRepr.list([d.source?.lastModified ?? "-", d.destination?.lastModified ?? "-"]))"
  }

  private static func items(_ o: ListedObject) -> String {
    PythonRepr.list(["Key: \(o.key)", "ETag: \(o.etag)", "Size: \(o.size) bytes"])
  }

  /// The key as printed outside a list: as is, except that CR and LF are escaped so that one
  /// difference stays one line.
  static func lineSafe(_ key: String) -> String {
    guard key.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) else { return key }
    return key.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
  }
}

/// JSON Lines records:
/// `{"key":…,"status":…,"differences":[…],"source":{…}|null,"destination":{…}|null,"verified_by":…|null}`,
/// plus `reason` for unverified keys and `error` for keys that could not be checked.
public enum JSONLReport {
  public static func line(for d: Difference) -> String {
    var out = "{\"key\":" + JSON.string(d.key)
    out += ",\"status\":" + JSON.string(d.status.rawValue)
    out += ",\"differences\":[" + d.fields.map { JSON.string($0.rawValue) }.joined(separator: ",") + "]"
    out += ",\"source\":" + object(d.source, d.sourceDetails, d.sourceVersion)
    out += ",\"destination\":" + object(d.destination, d.destinationDetails, d.destinationVersion)
    out += ",\"verified_by\":" + (d.verifiedBy.map(JSON.string) ?? "null")
    if let reason = d.reason { out += ",\"reason\":" + JSON.string(reason) }
    if let error = d.error { out += ",\"error\":" + JSON.string(error) }
    return out + "}"
  }

  private static func object(_ o: ListedObject?, _ details: ObjectDetails?, _ version: VersionRef? = nil) -> String {
    guard let o else { return "null" }
    var out =
      "{\"etag\":\(JSON.string(o.etag)),\"size\":\(o.size),\"last_modified\":\(JSON.string(o.lastModified))"
    if let v = version {
      out +=
        ",\"version_id\":\(JSON.string(v.id)),\"position\":\(v.position),\"versions\":\(v.count),\"delete_marker\":\(v.isDeleteMarker)"
    }
    if let x = details {
      out += ",\"metadata\":" + JSON.object(x.metadata)
      if let tags = x.tags { out += ",\"tags\":" + JSON.object(tags) }
      for row in DeepField.all {
        guard case .header(let h) = row.source else { continue }
        out += ",\"\(row.field.rawValue)\":" + (x.headers[h].map(JSON.string) ?? "null")
      }
    }
    return out + "}"
  }
}

/// Minimal, deterministic JSON text building.
public enum JSON {
  /// A JSON object of strings, keys in byte order.
  public static func object(_ d: [String: String]) -> String {
    "{" + d.keys.sorted { KeyOrder.less($0, $1) }.map { string($0) + ":" + string(d[$0]!) }.joined(separator: ",") + "}"
  }

  /// A JSON string literal for `s` (control characters escaped, everything else as UTF-8).
  public static func string(_ s: String) -> String {
    var out = "\""
    out.reserveCapacity(s.utf8.count + 2)
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029 {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
