internal import CYAML

/// A position in a YAML file, 1-based.
public struct SourceMark: Sendable, Equatable, CustomStringConvertible {
  public var line: Int
  public var column: Int
  public var description: String { "\(line):\(column)" }
}

/// A YAML node with where it starts.
public indirect enum YAMLNode: Sendable {
  /// `plain` is false for quoted and block scalars (so `"true"` stays a string).
  case scalar(String, plain: Bool, SourceMark)
  case mapping([(key: YAMLNode, value: YAMLNode)], SourceMark)
  case sequence([YAMLNode], SourceMark)

  public var mark: SourceMark {
    switch self {
    case .scalar(_, _, let m), .mapping(_, let m), .sequence(_, let m): return m
    }
  }

  /// A short name of the node's kind, for messages.
  public var kindName: String {
    switch self {
    case .scalar: return "a scalar"
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    }
  }
}

/// A YAML syntax error with its position.
public struct YAMLError: Error, Sendable, CustomStringConvertible {
  public var mark: SourceMark
  public var message: String
  public var description: String { "\(mark): \(message)" }
}

/// Parses YAML text with libyaml's event API into a `YAMLNode` tree (one document; aliases resolved).
public enum YAMLDocument {
  public static let maxDepth = 64
  public static let maxNodes = 1_000_000

  public static func parse(_ text: String) throws(YAMLError) -> YAMLNode? {
    let parser = YAMLParser(Array(text.utf8))
    return try parser.document()
  }
}

/// Owns a heap-allocated `yaml_parser_t` (libyaml keeps a pointer to it) and the input buffer.
private final class YAMLParser {
  private let parser: UnsafeMutablePointer<yaml_parser_t>
  private let input: UnsafeMutableBufferPointer<UInt8>
  private var anchors: [String: YAMLNode] = [:]
  private var nodes = 0

  init(_ bytes: [UInt8]) {
    parser = .allocate(capacity: 1)
    input = .allocate(capacity: max(1, bytes.count))
    _ = input.initialize(from: bytes)
    yaml_parser_initialize(parser)
    yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
  }

  deinit {
    yaml_parser_delete(parser)
    parser.deallocate()
    input.deallocate()
  }

  private func next() throws(YAMLError) -> yaml_event_t {
    var event = yaml_event_t()
    guard yaml_parser_parse(parser, &event) == 1 else {
      let p = parser.pointee
      let problem = p.problem.map { String(cString: $0) } ?? "syntax error"
      let context = p.context.map { String(cString: $0) + ": " } ?? ""
      throw YAMLError(
        mark: SourceMark(line: Int(p.problem_mark.line) + 1, column: Int(p.problem_mark.column) + 1),
        message: context + problem)
    }
    return event
  }

  private static func mark(_ e: yaml_event_t) -> SourceMark {
    SourceMark(line: Int(e.start_mark.line) + 1, column: Int(e.start_mark.column) + 1)
  }

  func document() throws(YAMLError) -> YAMLNode? {
    var root: YAMLNode?
    var sawDocument = false
    while true {
      var e = try next()
      defer { yaml_event_delete(&e) }
      switch e.type {
      case YAML_STREAM_END_EVENT:
        return root
      case YAML_DOCUMENT_START_EVENT:
        if sawDocument {
          throw YAMLError(mark: Self.mark(e), message: "only one YAML document is allowed")
        }
        sawDocument = true
        var first = try next()
        if first.type == YAML_DOCUMENT_END_EVENT {
          yaml_event_delete(&first)
          continue
        }
        root = try node(first, depth: 0)
        yaml_event_delete(&first)
      default:
        continue
      }
    }
  }

  private func anchorName(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
    p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
  }

  /// Builds the node that starts with `e` (which the caller deletes).
  private func node(_ e: yaml_event_t, depth: Int) throws(YAMLError) -> YAMLNode {
    let m = Self.mark(e)
    guard depth < YAMLDocument.maxDepth else { throw YAMLError(mark: m, message: "nested too deeply") }
    nodes += 1
    guard nodes <= YAMLDocument.maxNodes else { throw YAMLError(mark: m, message: "too many nodes") }
    switch e.type {
    case YAML_ALIAS_EVENT:
      let name = anchorName(e.data.alias.anchor) ?? ""
      guard let target = anchors[name] else { throw YAMLError(mark: m, message: "unknown alias *\(name)") }
      return target
    case YAML_SCALAR_EVENT:
      let s = e.data.scalar
      let value = String(
        decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
      let n = YAMLNode.scalar(value, plain: s.style == YAML_PLAIN_SCALAR_STYLE, m)
      if let a = anchorName(s.anchor) { anchors[a] = n }
      return n
    case YAML_SEQUENCE_START_EVENT:
      let anchor = anchorName(e.data.sequence_start.anchor)
      var items: [YAMLNode] = []
      while true {
        var c = try next()
        defer { yaml_event_delete(&c) }
        if c.type == YAML_SEQUENCE_END_EVENT { break }
        items.append(try node(c, depth: depth + 1))
      }
      let n = YAMLNode.sequence(items, m)
      if let anchor { anchors[anchor] = n }
      return n
    case YAML_MAPPING_START_EVENT:
      let anchor = anchorName(e.data.mapping_start.anchor)
      var pairs: [(key: YAMLNode, value: YAMLNode)] = []
      while true {
        var k = try next()
        defer { yaml_event_delete(&k) }
        if k.type == YAML_MAPPING_END_EVENT { break }
        let key = try node(k, depth: depth + 1)
        var v = try next()
        defer { yaml_event_delete(&v) }
        pairs.append((key, try node(v, depth: depth + 1)))
      }
      let n = YAMLNode.mapping(pairs, m)
      if let anchor { anchors[anchor] = n }
      return n
    default:
      throw YAMLError(mark: m, message: "unexpected YAML event")
    }
  }
}
