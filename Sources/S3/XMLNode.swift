/// A parsed XML element: local name (namespace prefix dropped), text, child elements.
public struct XMLNode: Sendable {
  public var name: String
  public var text: String
  public var children: [XMLNode]

  /// The first child named `name`.
  public func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
  /// Every child named `name`.
  public func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
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
public struct XMLParser {
  public static let maxDepth = 64

  private let bytes: [UInt8]
  private var pos = 0

  private init(_ bytes: [UInt8]) { self.bytes = bytes }

  /// Parses `bytes` and returns the root element.
  public static func parse(_ bytes: [UInt8]) throws(XMLParseError) -> XMLNode {
    var p = XMLParser(bytes)
    return try p.document()
  }

  private func fail(_ reason: String) -> XMLParseError { XMLParseError(offset: pos, reason: reason) }

  private mutating func document() throws(XMLParseError) -> XMLNode {
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
    while pos < bytes.count, Self.isNameByte(bytes[pos]) { pos += 1 }
    guard pos > start else { throw fail("expected a name") }
    var slice = bytes[start..<pos]
    if let colon = slice.lastIndex(of: 0x3A) { slice = slice[(colon + 1)...] }
    guard let s = String(validating: slice, as: UTF8.self) else { throw fail("name is not UTF-8") }
    return s
  }

  private mutating func skipSpace() {
    while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 }
  }

  private mutating func element(depth: Int) throws(XMLParseError) -> XMLNode {
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
        return XMLNode(name: elementName, text: "", children: [])
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
    var text = [UInt8]()
    var children: [XMLNode] = []
    while true {
      guard pos < bytes.count else { throw fail("unterminated element <\(elementName)>") }
      let b = bytes[pos]
      if b == UInt8(ascii: "<") {
        if starts("</") {
          pos += 2
          let closeStart = pos
          _ = try name()
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
          text.append(contentsOf: bytes[start..<(pos - 3)])
        } else if starts("<?") {
          try skip(past: "?>")
        } else if starts("<!") {
          throw fail("DTDs are not accepted")
        } else {
          children.append(try element(depth: depth + 1))
        }
      } else if b == UInt8(ascii: "&") {
        try entity(into: &text)
      } else {
        text.append(b)
        pos += 1
      }
    }
    guard let s = String(validating: text, as: UTF8.self) else { throw fail("text is not UTF-8") }
    return XMLNode(name: elementName, text: s, children: children)
  }

  private mutating func entity(into out: inout [UInt8]) throws(XMLParseError) {
    let start = pos + 1
    var end = start
    while end < bytes.count, bytes[end] != UInt8(ascii: ";"), end - start < 12 { end += 1 }
    guard end < bytes.count, bytes[end] == UInt8(ascii: ";") else { throw fail("unterminated entity") }
    let body = String(decoding: bytes[start..<end], as: UTF8.self)
    switch body {
    case "lt": out.append(UInt8(ascii: "<"))
    case "gt": out.append(UInt8(ascii: ">"))
    case "amp": out.append(UInt8(ascii: "&"))
    case "quot": out.append(0x22)
    case "apos": out.append(0x27)
    default:
      var value: UInt32?
      if body.hasPrefix("#x") || body.hasPrefix("#X") {
        value = UInt32(body.dropFirst(2), radix: 16)
      } else if body.hasPrefix("#") {
        value = UInt32(body.dropFirst(), radix: 10)
      }
      guard let v = value, let scalar = Unicode.Scalar(v) else { throw fail("unknown entity &\(body);") }
      out.append(contentsOf: Array(String(Character(scalar)).utf8))
    }
    pos = end + 1
  }
}
