import Foundation
import S3

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Sorts a whole listing by UTF-8 key bytes in bounded memory: runs of `runSize` objects are
/// sorted in memory and, when there is more than one, spilled to files and merged.
///
/// Used for servers that do not list in byte order (SeaweedFS lists `a/b` before `a-c`).
public final class ExternalSorter {
  public let runSize: Int
  private let directory: URL

  /// - Parameters:
  ///   - directory: where run files go (created; removed by `sorted(_:)` when done).
  public init(runSize: Int = 200_000, directory: URL) {
    self.runSize = max(1, runSize)
    self.directory = directory
  }

  /// Reads `input` to the end and returns its objects in byte order (duplicates kept).
  public func sorted(_ input: ObjectStream) throws -> ObjectStream {
    var chunk: [ListedObject] = []
    chunk.reserveCapacity(min(runSize, 65_536))
    var runs: [URL] = []
    while let o = try input.next() {
      chunk.append(o)
      if chunk.count >= runSize {
        runs.append(try spill(&chunk, index: runs.count))
      }
    }
    if runs.isEmpty {
      chunk.sort { KeyOrder.less($0.key, $1.key) }
      return ArrayObjectStream(chunk)
    }
    if !chunk.isEmpty { runs.append(try spill(&chunk, index: runs.count)) }
    return try RunMerger(runs: runs, directory: directory)
  }

  private func spill(_ chunk: inout [ListedObject], index: Int) throws -> URL {
    try FileManager.default.createDirectory(
      at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    chunk.sort { KeyOrder.less($0.key, $1.key) }
    let url = directory.appendingPathComponent("run-\(index).bin")
    guard let f = fopen(url.path, "wb") else { throw SortError.io("cannot create \(url.path)") }
    defer { fclose(f) }
    var buffer = [UInt8]()
    buffer.reserveCapacity(1 << 20)
    for o in chunk {
      RunRecord.encode(o, into: &buffer)
      if buffer.count >= 1 << 20 {
        guard fwrite(buffer, 1, buffer.count, f) == buffer.count else {
          throw SortError.io("write failed: \(url.path)")
        }
        buffer.removeAll(keepingCapacity: true)
      }
    }
    if !buffer.isEmpty, fwrite(buffer, 1, buffer.count, f) != buffer.count {
      throw SortError.io("write failed: \(url.path)")
    }
    chunk.removeAll(keepingCapacity: true)
    return url
  }
}

/// A failure of the on-disk sort.
public enum SortError: Error, CustomStringConvertible {
  case io(String)
  case corrupt(String)
  public var description: String {
    switch self {
    case .io(let s): return "sort spill file: \(s)"
    case .corrupt(let s): return "sort spill file is corrupt: \(s)"
    }
  }
}

/// Length-prefixed binary form of a listed object in a run file.
enum RunRecord {
  static func encode(_ o: ListedObject, into buffer: inout [UInt8]) {
    for field in [o.key, o.etag, o.lastModified] {
      appendInt(UInt32(field.utf8.count), 4, &buffer)
      buffer.append(contentsOf: field.utf8)
    }
    appendInt(UInt64(bitPattern: o.size), 8, &buffer)
  }

  private static func appendInt<T: FixedWidthInteger>(_ v: T, _ bytes: Int, _ buffer: inout [UInt8]) {
    for i in 0..<bytes { buffer.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
  }
}

/// Reads one run file sequentially.
final class RunReader {
  private let file: UnsafeMutablePointer<FILE>
  private let path: String

  init(path: String) throws {
    guard let f = fopen(path, "rb") else { throw SortError.io("cannot open \(path)") }
    file = f
    self.path = path
  }

  deinit { fclose(file) }

  private func readBytes(_ n: Int) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: n)
    if n > 0, fread(&out, 1, n, file) != n { throw SortError.corrupt(path) }
    return out
  }

  private func readInt(_ n: Int) throws -> UInt64 {
    let b = try readBytes(n)
    var v: UInt64 = 0
    for i in 0..<n { v |= UInt64(b[i]) << (8 * UInt64(i)) }
    return v
  }

  func next() throws -> ListedObject? {
    var first = [UInt8](repeating: 0, count: 4)
    let got = fread(&first, 1, 4, file)
    if got == 0 { return nil }
    guard got == 4 else { throw SortError.corrupt(path) }
    var fields: [String] = []
    var length = Int(UInt32(first[0]) | UInt32(first[1]) << 8 | UInt32(first[2]) << 16 | UInt32(first[3]) << 24)
    for i in 0..<3 {
      if i > 0 { length = Int(try readInt(4)) }
      guard length <= 1 << 20 else { throw SortError.corrupt(path) }
      fields.append(String(decoding: try readBytes(length), as: UTF8.self))
    }
    let size = Int64(bitPattern: try readInt(8))
    return ListedObject(key: fields[0], etag: fields[1], size: size, lastModified: fields[2])
  }
}

/// k-way merge of sorted run files; deletes them when closed or exhausted.
final class RunMerger: ObjectStream {
  private var readers: [RunReader]
  private var heads: [ListedObject?]
  private let runs: [URL]
  private let directory: URL

  init(runs: [URL], directory: URL) throws {
    self.runs = runs
    self.directory = directory
    readers = try runs.map { try RunReader(path: $0.path) }
    heads = try readers.map { try $0.next() }
  }

  func next() throws -> ListedObject? {
    var best = -1
    for i in heads.indices {
      guard let h = heads[i] else { continue }
      if best < 0 || KeyOrder.less(h.key, heads[best]!.key) { best = i }
    }
    guard best >= 0 else {
      close()
      return nil
    }
    let out = heads[best]
    heads[best] = try readers[best].next()
    return out
  }

  func close() {
    for r in runs { try? FileManager.default.removeItem(at: r) }
    try? FileManager.default.removeItem(at: directory)
  }
}
