import Foundation

/// The records of S3 Inventory CSV text (RFC 4180: fields in double quotes, `""` for a quote inside one,
/// records ending in LF or CRLF), fed in chunks as they are decompressed. AWS quotes every field; an
/// unquoted one is taken as it is.
struct CSVRecords {
  private var field: [UInt8] = []
  private var fields: [[UInt8]] = []
  private var inQuotes = false
  /// A quote seen inside a quoted field: the end of the field, or the first of `""`.
  private var quotePending = false
  private var fieldStarted = false
  /// A CR outside quotes: the start of a CRLF, or a byte of an unquoted field.
  private var pendingCR = false

  /// Feeds `bytes`, calling `record` for every complete record.
  mutating func feed(_ bytes: ArraySlice<UInt8>, record: ([[UInt8]]) throws -> Void) throws {
    for b in bytes {
      if pendingCR {
        pendingCR = false
        if b != UInt8(ascii: "\n") { field.append(UInt8(ascii: "\r")) }
      }
      if quotePending {
        quotePending = false
        if b == UInt8(ascii: "\"") {
          field.append(b)
          continue
        }
        inQuotes = false
      }
      if inQuotes {
        if b == UInt8(ascii: "\"") { quotePending = true } else { field.append(b) }
        continue
      }
      switch b {
      case UInt8(ascii: "\""):
        if field.isEmpty && !fieldStarted { inQuotes = true }
        fieldStarted = true
      case UInt8(ascii: ","):
        fields.append(field)
        field.removeAll(keepingCapacity: true)
        fieldStarted = false
      case UInt8(ascii: "\n"):
        fields.append(field)
        field.removeAll(keepingCapacity: true)
        fieldStarted = false
        try record(fields)
        fields.removeAll(keepingCapacity: true)
      case UInt8(ascii: "\r"):
        pendingCR = true
      default:
        field.append(b)
        fieldStarted = true
      }
    }
  }

  /// Ends the input: a last record without a line end is delivered; an open quote is an error.
  mutating func finish(record: ([[UInt8]]) throws -> Void) throws -> Bool {
    pendingCR = false
    if quotePending {
      quotePending = false
      inQuotes = false
    }
    guard !inQuotes else { return false }
    if !field.isEmpty || !fields.isEmpty || fieldStarted {
      fields.append(field)
      try record(fields)
    }
    fields.removeAll()
    field.removeAll()
    return true
  }
}

/// S3 Inventory keys are URL-encoded as an HTML form encodes them: `%XX` for bytes, `+` for a space
/// (cloud-custodian #1997: decoding `+` as a plus breaks every key with a space). A real `+` is `%2B`.
enum FormDecoding {
  static func decode(_ bytes: [UInt8]) -> String? {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    func hex(_ c: UInt8) -> UInt8? {
      switch c {
      case 0x30...0x39: return c - 0x30
      case 0x41...0x46: return c - 0x41 + 10
      case 0x61...0x66: return c - 0x61 + 10
      default: return nil
      }
    }
    while i < bytes.count {
      let b = bytes[i]
      if b == UInt8(ascii: "+") {
        out.append(UInt8(ascii: " "))
      } else if b == UInt8(ascii: "%") {
        guard i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) else { return nil }
        out.append(h << 4 | l)
        i += 2
      } else {
        out.append(b)
      }
      i += 1
    }
    return String(validating: out, as: UTF8.self)
  }
}
