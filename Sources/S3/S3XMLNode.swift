/// A parsed XML element: local name (namespace prefix dropped), text, child elements.
public struct S3XMLNode: Sendable {
  public var name: String
  public var text: String
  public var children: [S3XMLNode]

  /// The first child named `name`.
  public func child(_ name: String) -> S3XMLNode? { children.first { $0.name == name } }
  /// Every child named `name`.
  public func children(_ name: String) -> [S3XMLNode] { children.filter { $0.name == name } }
  /// Text of the first child named `name`.
  public func text(of name: String) -> String? { child(name)?.text }
}

/// A malformed document, with the byte offset where parsing stopped.
public struct XMLParseError: Error, Sendable, CustomStringConvertible {
  public var offset: Int
  public var reason: String
  public var description: String { "malformed XML at byte \(offset): \(reason)" }
}

/// A small, strict, non-validating XML parser for S3 responses.
///
/// No DTDs and no external entities (a `<!DOCTYPE` is refused), bounded nesting depth, and UTF-8 only.
/// Text of mixed content is concatenated; attributes are read and ignored.
public struct S3XMLParser {
  public static let maxDepth = 64

  private let bytes: [UInt8]
  private var pos = 0
  /// Children of the elements being parsed, innermost last; an element's own children become one
  /// exact-size array when it closes (growing a small array per element cost 8% of a listing's CPU).
  private var scratch: [S3XMLNode] = []

  private init(_ bytes: [UInt8]) { self.bytes = bytes }

  /// Parses `bytes` and returns the root element.
  public static func parse(_ bytes: [UInt8]) throws(XMLParseError) -> S3XMLNode {
    var p = S3XMLParser(bytes)
    return try p.document()
  }

  private func fail(_ reason: String) -> XMLParseError { XMLParseError(offset: pos, reason: reason) }

  private mutating func document() throws(XMLParseError) -> S3XMLNode {
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3 }
    try skipMisc()
    guard pos < bytes.count, bytes[pos] == UInt8(ascii: "<") else {
      throw fail(bytes.isEmpty ? "empty document" : "expected a root element")
    }
    let root = try element(depth: 0)
    try skipMisc()
    guard pos == bytes.count else { throw fail("content after the root element") }
    return root
  }

  /// Skips white space, the XML declaration, processing instructions and comments.
  private mutating func skipMisc() throws(XMLParseError) {
    while pos < bytes.count {
      let b = bytes[pos]
      if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D {
        pos += 1
      } else if starts("<?") {
        try skip(past: "?>")
      } else if starts("<!--") {
        try skip(past: "-->")
      } else if starts("<!") {
        throw fail("DTDs are not accepted")
      } else {
        return
      }
    }
  }

  private func starts(_ s: StaticString) -> Bool {
    let n = s.utf8CodeUnitCount
    guard pos + n <= bytes.count else { return false }
    let p = s.utf8Start
    for i in 0..<n where bytes[pos + i] != p[i] { return false }
    return true
  }

  private mutating func skip(past s: StaticString) throws(XMLParseError) {
    while pos < bytes.count {
      if starts(s) {
        pos += s.utf8CodeUnitCount
        return
      }
      pos += 1
    }
    throw fail("unterminated construct, expected \(s)")
  }

  private static func isNameByte(_ b: UInt8) -> Bool {
    (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
      || b == 0x2D || b == 0x5F || b == 0x2E || b == 0x3A || b >= 0x80
  }

  private mutating func name() throws(XMLParseError) -> String {
    let start = pos
    skipName()
    guard pos > start else { throw fail("expected a name") }
    var nameStart = start
    for i in start..<pos where bytes[i] == 0x3A { nameStart = i + 1 }
    if let known = knownName(nameStart, pos) { return known }
    guard let s = string(nameStart, pos) else { throw fail("name is not UTF-8") }
    return s
  }

  private mutating func skipName() {
    while pos < bytes.count, Self.isNameByte(bytes[pos]) { pos += 1 }
  }

  /// The element names of a listing page, as constants: no String is built for them.
  private static let knownNames: [(bytes: [UInt8], name: String)] = [
    "Contents", "Key", "ETag", "Size", "LastModified", "StorageClass", "Owner", "ID", "DisplayName",
    "ChecksumAlgorithm", "ChecksumType",
  ].map { (Array($0.utf8), $0) }

  private func knownName(_ start: Int, _ end: Int) -> String? {
    let count = end - start
    for known in Self.knownNames where known.bytes.count == count && bytes[start..<end].elementsEqual(known.bytes) {
      return known.name
    }
    return nil
  }

  @inline(__always)
  private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

  private mutating func skipSpace() {
    while pos < bytes.count, Self.isSpace(bytes[pos]) { pos += 1 }
  }

  /// `bytes[start..<end]` as a String, or nil if they are not UTF-8.
  private func string(_ start: Int, _ end: Int) -> String? {
    bytes.withUnsafeBufferPointer { Self.string(UnsafeBufferPointer(rebasing: $0[start..<end])) }
  }

  /// UTF-8 bytes as a String, or nil if they are not UTF-8. (`String(validating:as:)` resolves
  /// generic metadata at run time on every call: a third of the CPU of a listing page.)
  static func string(_ utf8: UnsafeBufferPointer<UInt8>) -> String? {
    var ascii = true
    for b in utf8 where b >= 0x80 {
      ascii = false
      break
    }
    let s = String(decoding: utf8, as: UTF8.self)
    // Decoding repairs invalid sequences with U+FFFD; valid input comes back byte for byte.
    if ascii || s.utf8.elementsEqual(utf8) { return s }
    return nil
  }

  private mutating func element(depth: Int) throws(XMLParseError) -> S3XMLNode {
    guard depth < Self.maxDepth else { throw fail("elements nested deeper than \(Self.maxDepth)") }
    pos += 1  // "<"
    let rawStart = pos
    let elementName = try name()
    let rawName = bytes[rawStart..<pos]
    // Attributes: name = "value" | 'value'
    while true {
      skipSpace()
      guard pos < bytes.count else { throw fail("unterminated start tag") }
      if bytes[pos] == UInt8(ascii: "/") {
        guard pos + 1 < bytes.count, bytes[pos + 1] == UInt8(ascii: ">") else { throw fail("expected />") }
        pos += 2
        return S3XMLNode(name: elementName, text: "", children: [])
      }
      if bytes[pos] == UInt8(ascii: ">") {
        pos += 1
        break
      }
      _ = try name()
      skipSpace()
      guard pos < bytes.count, bytes[pos] == UInt8(ascii: "=") else { throw fail("expected = in attribute") }
      pos += 1
      skipSpace()
      guard pos < bytes.count, bytes[pos] == 0x22 || bytes[pos] == 0x27 else {
        throw fail("expected a quoted attribute value")
      }
      let quote = bytes[pos]
      pos += 1
      while pos < bytes.count, bytes[pos] != quote {
        if bytes[pos] == UInt8(ascii: "<") { throw fail("< in attribute value") }
        pos += 1
      }
      guard pos < bytes.count else { throw fail("unterminated attribute value") }
      pos += 1
    }
    // The text is usually one run of plain bytes: it becomes a String straight from the document.
    // Entities, CDATA or several runs (mixed content) go through a buffer.
    var run = (start: pos, end: pos)
    var buffer: [UInt8]? = nil
    let firstChild = scratch.count
    while true {
      guard pos < bytes.count else { throw fail("unterminated element <\(elementName)>") }
      let b = bytes[pos]
      if b == UInt8(ascii: "<") {
        if starts("</") {
          pos += 2
          let closeStart = pos
          skipName()  // compared as bytes with the start tag's name, which was checked
          guard bytes[closeStart..<pos].elementsEqual(rawName) else {
            throw fail("closing tag does not match <\(elementName)>")
          }
          skipSpace()
          guard pos < bytes.count, bytes[pos] == UInt8(ascii: ">") else { throw fail("expected >") }
          pos += 1
          break
        } else if starts("<!--") {
          try skip(past: "-->")
        } else if starts("<![CDATA[") {
          pos += 9
          let start = pos
          try skip(past: "]]>")
          append(start, pos - 3, to: &buffer, run: &run)
        } else if starts("<?") {
          try skip(past: "?>")
        } else if starts("<!") {
          throw fail("DTDs are not accepted")
        } else {
          let child = try element(depth: depth + 1)
          scratch.append(child)
        }
      } else if b == UInt8(ascii: "&") {
        if buffer == nil { buffer = Array(bytes[run.start..<run.end]) }
        try entity(into: &buffer!)
      } else {
        let start = pos
        pos += 1
        while pos < bytes.count, bytes[pos] != UInt8(ascii: "<"), bytes[pos] != UInt8(ascii: "&") { pos += 1 }
        append(start, pos, to: &buffer, run: &run)
      }
    }
    let text: String?
    if let buffer {
      text = buffer.withUnsafeBufferPointer { Self.string($0) }
    } else {
      text = run.start == run.end ? "" : string(run.start, run.end)
    }
    guard let text else { throw fail("text is not UTF-8") }
    let children = Array(scratch[firstChild...])
    scratch.removeSubrange(firstChild...)
    return S3XMLNode(name: elementName, text: text, children: children)
  }

  /// Adds `bytes[start..<end]` to an element's text: extends the run it continues, else the buffer.
  private func append(_ start: Int, _ end: Int, to buffer: inout [UInt8]?, run: inout (start: Int, end: Int)) {
    if buffer == nil {
      if run.start == run.end {
        run = (start, end)
        return
      }
      if run.end == start {
        run.end = end
        return
      }
      buffer = Array(bytes[run.start..<run.end])
    }
    buffer!.append(contentsOf: bytes[start..<end])
  }

  private mutating func entity(into out: inout [UInt8]) throws(XMLParseError) {
    let start = pos + 1
    var end = start
    while end < bytes.count, bytes[end] != UInt8(ascii: ";"), end - start < 12 { end += 1 }
    guard end < bytes.count, bytes[end] == UInt8(ascii: ";") else { throw fail("unterminated entity") }
    let body = bytes[start..<end]
    if body.elementsEqual("lt".utf8) {
      out.append(UInt8(ascii: "<"))
    } else if body.elementsEqual("gt".utf8) {
      out.append(UInt8(ascii: ">"))
    } else if body.elementsEqual("amp".utf8) {
      out.append(UInt8(ascii: "&"))
    } else if body.elementsEqual("quot".utf8) {
      out.append(0x22)
    } else if body.elementsEqual("apos".utf8) {
      out.append(0x27)
    } else {
      guard let v = Self.characterReference(body), let scalar = Unicode.Scalar(v) else {
        throw fail("unknown entity &\(String(decoding: body, as: UTF8.self));")
      }
      UTF8.encode(scalar) { out.append($0) }
    }
    pos = end + 1
  }

  /// The code point of `#123` or `#x7B`; nil if it is neither.
  private static func characterReference(_ body: ArraySlice<UInt8>) -> UInt32? {
    guard body.first == UInt8(ascii: "#") else { return nil }
    var digits = body.dropFirst()
    var radix: UInt32 = 10
    if digits.first == UInt8(ascii: "x") || digits.first == UInt8(ascii: "X") {
      radix = 16
      digits = digits.dropFirst()
    }
    guard !digits.isEmpty else { return nil }
    var value: UInt32 = 0
    for d in digits {
      let digit: UInt32
      switch d {
      case 0x30...0x39: digit = UInt32(d - 0x30)
      case 0x41...0x46 where radix == 16: digit = UInt32(d - 0x41 + 10)
      case 0x61...0x66 where radix == 16: digit = UInt32(d - 0x61 + 10)
      default: return nil
      }
      guard value <= 0x10FFFF else { return nil }
      value = value * radix + digit
    }
    return value
  }
}
