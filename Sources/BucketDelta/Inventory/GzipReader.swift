import CZlib
import Foundation

/// Reads a gzip file (one or more members, as `cat a.gz b.gz` makes) through zlib's `inflate`, in chunks
/// of 64 KB: memory stays bounded whatever the file's size. A file that ends inside a member (truncated)
/// or holds bytes zlib rejects (corrupt) throws, naming the file.
final class GzipReader {
  private var stream = z_stream()
  private let fd: Int32
  private let name: String
  private var input = [UInt8](repeating: 0, count: 1 << 16)
  private var output = [UInt8](repeating: 0, count: 1 << 16)
  private var inputEnded = false
  /// Bytes of `input` filled by the last read.
  private var inputLength = 0
  private var memberEnded = false
  private var finished = false

  init(path: String, name: String) throws {
    self.name = name
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw InventoryError("\(name): cannot open \(path): \(String(cString: strerror(errno)))") }
    // 16 + MAX_WBITS: a gzip header and trailer, not a zlib one.
    let rc = inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    guard rc == Z_OK else {
      Glibc.close(fd)
      throw InventoryError("\(name): zlib could not start (\(rc))")
    }
  }

  deinit {
    inflateEnd(&stream)
    Glibc.close(fd)
  }

  /// The next decompressed bytes (empty at the end of the file).
  func read() throws -> ArraySlice<UInt8> {
    while !finished {
      if stream.avail_in == 0 && !inputEnded {
        let n = input.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { throw InventoryError("\(name): read failed: \(String(cString: strerror(errno)))") }
        if n == 0 {
          inputEnded = true
        } else if memberEnded {
          // Another gzip member follows the one that ended.
          inflateReset(&stream)
          memberEnded = false
        }
        inputLength = n
        stream.avail_in = UInt32(n)
      }
      if memberEnded || (stream.avail_in == 0 && inputEnded) {
        guard memberEnded else {
          throw InventoryError("\(name): the gzip data ends early (a truncated or partly downloaded file)")
        }
        finished = true
        break
      }
      let produced: Int = try input.withUnsafeMutableBytes { inp in
        try output.withUnsafeMutableBytes { out in
          stream.next_in = inp.baseAddress!.assumingMemoryBound(to: Bytef.self)
            .advanced(by: inputLength - Int(stream.avail_in))
          stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
          stream.avail_out = UInt32(out.count)
          let rc = inflate(&stream, Z_NO_FLUSH)
          switch rc {
          case Z_OK, Z_BUF_ERROR: break
          case Z_STREAM_END: memberEnded = true
          default:
            let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
            throw InventoryError("\(name): not valid gzip data (\(detail))")
          }
          return out.count - Int(stream.avail_out)
        }
      }
      if memberEnded && stream.avail_in > 0 {
        // The next member starts in this buffer.
        inflateReset(&stream)
        memberEnded = false
      }
      if produced > 0 { return output[0..<produced] }
    }
    return []
  }
}
