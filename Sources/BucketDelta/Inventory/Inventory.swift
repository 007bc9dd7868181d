import Foundation
import Logging
import S3

public struct InventoryError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Where a pair side's S3 Inventory is: a `manifest.json` in a bucket, the newest dated folder under an
/// inventory configuration's prefix (`latest`), or a local copy (a `manifest.json` or the folder holding it,
/// with the data files beside it or in `../data/`, as `aws s3 sync` of the configuration's folder leaves them).
public enum InventoryLocation: Sendable, Equatable, CustomStringConvertible {
  case manifest(bucket: String, key: String)
  case latest(bucket: String, prefix: String)
  case local(path: String)

  /// `s3://BUCKET/KEY/manifest.json`, `s3://BUCKET/PREFIX/` (the newest dated folder under it) or a local path.
  public static func parse(_ text: String) -> InventoryLocation? {
    guard text.hasPrefix("s3://") else { return text.isEmpty ? nil : .local(path: text) }
    let rest = text.dropFirst(5)
    guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex else { return nil }
    let bucket = String(rest[..<slash])
    let key = String(rest[rest.index(after: slash)...])
    if key.hasSuffix("manifest.json") { return .manifest(bucket: bucket, key: key) }
    return .latest(bucket: bucket, prefix: key.isEmpty || key.hasSuffix("/") ? key : key + "/")
  }

  public var description: String {
    switch self {
    case .manifest(let b, let k): return "s3://\(b)/\(k)"
    case .latest(let b, let p): return "s3://\(b)/\(p) (newest)"
    case .local(let p): return p
    }
  }
}

/// A `manifest.json` of S3 Inventory (the fields bucket-delta reads).
public struct InventoryManifest: Decodable, Sendable {
  public struct File: Decodable, Sendable {
    public var key: String
    public var size: Int64
    public var MD5checksum: String
  }
  public var sourceBucket: String
  public var destinationBucket: String?
  public var creationTimestamp: String
  public var fileFormat: String
  public var fileSchema: String
  public var files: [File]

  /// The columns, in file order.
  public var columns: [String] {
    fileSchema.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
  }
  /// `creationTimestamp` (milliseconds since the epoch) in whole seconds.
  public var createdEpochSeconds: Int64? { Int64(creationTimestamp).map { $0 / 1000 } }

  /// Decodes and checks a manifest named `name` (for messages).
  public static func decode(_ data: [UInt8], name: String) throws -> InventoryManifest {
    let m: InventoryManifest
    do {
      m = try JSONDecoder().decode(InventoryManifest.self, from: Data(data))
    } catch {
      throw InventoryError("\(name): not an S3 Inventory manifest.json: \(error)")
    }
    guard m.fileFormat.uppercased() == "CSV" else {
      throw InventoryError(
        "\(name): fileFormat \(m.fileFormat) is not read yet: configure the inventory with the CSV format (ORC and Parquet are not supported)"
      )
    }
    let cols = Set(m.columns)
    for required in ["Bucket", "Key", "Size", "ETag"] where !cols.contains(required) {
      throw InventoryError(
        "\(name): fileSchema has no \(required) column (\(m.fileSchema)): add the \(required == "Size" || required == "ETag" ? "\(required) field" : "field") to the inventory configuration"
      )
    }
    guard m.createdEpochSeconds != nil else {
      throw InventoryError("\(name): creationTimestamp '\(m.creationTimestamp)' is not milliseconds since the epoch")
    }
    return m
  }
}

/// One side's inventory: its manifest, and how to get each data file (downloaded to a temporary file or
/// read in place), checked against the manifest's size and MD5.
public final class InventorySnapshot: @unchecked Sendable {
  // @unchecked: immutable after init.
  public let location: InventoryLocation
  public let manifest: InventoryManifest
  /// Where the manifest was read (the key or path, for messages).
  public let manifestName: String
  private let client: S3Client?

  private init(location: InventoryLocation, manifest: InventoryManifest, manifestName: String, client: S3Client?) {
    self.location = location
    self.manifest = manifest
    self.manifestName = manifestName
    self.client = client
  }

  /// Reads the manifest at `location` (`client`: the endpoint of the inventory's bucket).
  public static func open(_ location: InventoryLocation, client: S3Client?) throws -> InventorySnapshot {
    switch location {
    case .local(let path):
      var isDir: ObjCBool = false
      let file =
        FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
        ? (path as NSString).appendingPathComponent("manifest.json") : path
      guard let data = FileManager.default.contents(atPath: file) else {
        throw InventoryError("\(file): no such inventory manifest (give a manifest.json or the folder holding it)")
      }
      return InventorySnapshot(
        location: location, manifest: try InventoryManifest.decode(Array(data), name: file), manifestName: file,
        client: nil)
    case .manifest(let bucket, let key):
      guard let client else { throw InventoryError("s3://\(bucket)/\(key): no endpoint to read it from") }
      let body = try get(client, bucket: bucket, key: key)
      return InventorySnapshot(
        location: location, manifest: try InventoryManifest.decode(body, name: "s3://\(bucket)/\(key)"),
        manifestName: "s3://\(bucket)/\(key)", client: client)
    case .latest(let bucket, let prefix):
      guard let client else { throw InventoryError("s3://\(bucket)/\(prefix): no endpoint to read it from") }
      // Dated folders (YYYY-MM-DDTHH-MMZ/) sort by time as strings; the newest holding a manifest.json wins.
      var folders: [String] = []
      var token: String?
      repeat {
        let page = try client.listObjectsV2(
          bucket: bucket, prefix: prefix, continuationToken: token, maxKeys: 1000, delimiter: "/")
        folders += page.commonPrefixes.filter { Self.isDated(String($0.dropFirst(prefix.count))) }
        token = page.isTruncated ? page.nextContinuationToken : nil
      } while token != nil
      for folder in folders.sorted(by: >) {
        let key = folder + "manifest.json"
        guard let body = try? get(client, bucket: bucket, key: key) else { continue }
        return InventorySnapshot(
          location: .manifest(bucket: bucket, key: key),
          manifest: try InventoryManifest.decode(body, name: "s3://\(bucket)/\(key)"),
          manifestName: "s3://\(bucket)/\(key)", client: client)
      }
      throw InventoryError(
        "s3://\(bucket)/\(prefix): no dated folder (YYYY-MM-DDTHH-MMZ/) with a manifest.json under it: give the inventory configuration's prefix (DESTINATION_PREFIX/SOURCE_BUCKET/CONFIG_ID/)"
      )
    }
  }

  static func isDated(_ name: String) -> Bool {
    // 2026-12-01T01-00Z/
    let b = Array(name.utf8)
    guard b.count == 18, b.last == UInt8(ascii: "/") else { return false }
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15]
    return digits.allSatisfy { b[$0] >= 0x30 && b[$0] <= 0x39 } && b[4] == 0x2D && b[7] == 0x2D && b[10] == 0x54
      && b[13] == 0x2D && b[16] == 0x5A
  }

  private static func get(_ client: S3Client, bucket: String, key: String) throws -> [UInt8] {
    let (response, _) = try client.execute(
      operation: "GetObject", method: "GET", bucket: bucket, key: key, query: [], maxResponseBytes: 256 << 20)
    return response.body
  }

  /// A verified local copy of data file `file` (its size and MD5 match the manifest's) and whether it is a
  /// temporary file to delete after reading.
  func fetch(_ file: InventoryManifest.File, into directory: URL) throws -> (path: String, temporary: Bool) {
    let name: String
    let path: String
    var temporary = false
    switch location {
    case .local:
      let base = (manifestName as NSString).deletingLastPathComponent
      let leaf = (file.key as NSString).lastPathComponent
      let candidates = [
        (base as NSString).appendingPathComponent(leaf),
        ((base as NSString).appendingPathComponent("../data") as NSString).appendingPathComponent(leaf),
        ((base as NSString).appendingPathComponent("data") as NSString).appendingPathComponent(leaf),
      ]
      guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
        throw InventoryError(
          "\(manifestName): data file \(file.key) is missing (looked for \(candidates.joined(separator: ", ")))")
      }
      name = found
      path = found
      let digest = Digest(.md5)
      let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
      guard fd >= 0 else { throw InventoryError("\(path): cannot open: \(String(cString: strerror(errno)))") }
      defer { Glibc.close(fd) }
      var buffer = [UInt8](repeating: 0, count: 1 << 16)
      var total: Int64 = 0
      while true {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { break }
        total += Int64(n)
        buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
      }
      try check(name: name, size: total, md5: Crypto.hex(digest.finish()), file: file)
    case .manifest(let bucket, _), .latest(let bucket, _):
      guard let client else { throw InventoryError("\(manifestName): no endpoint") }
      name = "s3://\(bucket)/\(file.key)"
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      path = directory.appendingPathComponent("inventory-\(UUID().uuidString).gz").path
      temporary = true
      let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
      guard fd >= 0 else { throw InventoryError("\(path): cannot create: \(String(cString: strerror(errno)))") }
      defer { Glibc.close(fd) }
      let digest = Digest(.md5)
      var failed: Int32 = 0
      let sink = BodySink(
        consume: { bytes in
          digest.update(bytes)
          if failed == 0 && !writeAll(fd: fd, Array(bytes)) { failed = errno }
        },
        restart: {
          digest.reset()
          _ = ftruncate(fd, 0)
          _ = lseek(fd, 0, SEEK_SET)
        })
      do {
        try client.getObject(bucket: bucket, key: file.key, into: sink, expectedSize: file.size)
      } catch {
        unlink(path)
        throw InventoryError("\(name): \(error)")
      }
      guard failed == 0 else {
        unlink(path)
        throw InventoryError("\(path): cannot write: \(String(cString: strerror(failed)))")
      }
      do {
        try check(name: name, size: sink.count, md5: Crypto.hex(digest.finish()), file: file)
      } catch {
        unlink(path)
        throw error
      }
    }
    return (path, temporary)
  }

  private func check(name: String, size: Int64, md5: String, file: InventoryManifest.File) throws {
    guard size == file.size else {
      throw InventoryError(
        "\(name): \(size) bytes, the manifest \(manifestName) says \(file.size) (truncated or replaced)")
    }
    guard md5.lowercased() == file.MD5checksum.lowercased() else {
      throw InventoryError(
        "\(name): MD5 \(md5) does not match the manifest's \(file.MD5checksum) (\(manifestName)): the file is corrupt or was replaced"
      )
    }
  }
}

/// The objects of an inventory side, in the files' order (a `ListingStrategy` sorts them when they are
/// not in UTF-8 byte order): rows of other buckets, keys outside the side's prefix and, in an inventory of
/// all versions, rows that are not the latest version or are delete markers are left out.
final class InventoryListing: ObjectStream {
  private let snapshot: InventorySnapshot
  private let prefix: String
  private let directory: URL
  private var fileIndex = 0
  private var reader: GzipReader?
  private var readerName = ""
  private var temporaryPath: String?
  private var csv = CSVRecords()
  private var ready: [ListedObject] = []
  private var readyIndex = 0
  private var line = 0
  private var closed = false
  private let column: [String: Int]
  private let width: Int
  /// Rows read (for the log and tests).
  private(set) var rows = 0

  init(_ snapshot: InventorySnapshot, prefix: String, directory: URL) {
    self.snapshot = snapshot
    self.prefix = prefix
    self.directory = directory
    let cols = snapshot.manifest.columns
    column = Dictionary(cols.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    width = cols.count
  }

  deinit { dropTemporary() }

  private func dropTemporary() {
    if let p = temporaryPath { unlink(p) }
    temporaryPath = nil
  }

  func next() throws -> ListedObject? {
    while readyIndex >= ready.count {
      ready.removeAll(keepingCapacity: true)
      readyIndex = 0
      if closed { return nil }
      if reader == nil {
        guard fileIndex < snapshot.manifest.files.count else { return nil }
        let file = snapshot.manifest.files[fileIndex]
        fileIndex += 1
        let (path, temporary) = try snapshot.fetch(file, into: directory)
        if temporary { temporaryPath = path }
        readerName = temporary ? "s3 inventory file \(file.key)" : path
        reader = try GzipReader(path: path, name: readerName)
        csv = CSVRecords()
        line = 0
      }
      let chunk = try reader!.read()
      if chunk.isEmpty {
        guard try csv.finish(record: take) else {
          throw InventoryError("\(readerName): a quoted field is not closed at the end of the file")
        }
        reader = nil
        dropTemporary()
        continue
      }
      try csv.feed(chunk, record: take)
    }
    defer { readyIndex += 1 }
    return ready[readyIndex]
  }

  private func field(_ r: [[UInt8]], _ name: String) -> [UInt8]? { column[name].map { r[$0] } }

  private func take(_ r: [[UInt8]]) throws {
    line += 1
    rows += 1
    guard r.count == width else {
      throw InventoryError(
        "\(readerName): line \(line) has \(r.count) fields, the manifest's fileSchema has \(width) (\(snapshot.manifest.fileSchema))"
      )
    }
    if let b = field(r, "Bucket"), String(decoding: b, as: UTF8.self) != snapshot.manifest.sourceBucket { return }
    if let latest = field(r, "IsLatest"), String(decoding: latest, as: UTF8.self).lowercased() == "false" { return }
    if let marker = field(r, "IsDeleteMarker"), String(decoding: marker, as: UTF8.self).lowercased() == "true" {
      return
    }
    guard let rawKey = field(r, "Key"), let key = FormDecoding.decode(rawKey) else {
      throw InventoryError("\(readerName): line \(line): the Key is not URL-encoded UTF-8")
    }
    guard key.hasPrefixBytes(prefix) else { return }
    let relative = String(decoding: key.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
    guard let sizeText = field(r, "Size"), let size = Int64(String(decoding: sizeText, as: UTF8.self)) else {
      throw InventoryError("\(readerName): line \(line): Size is not a number (key '\(key)')")
    }
    let etag = String(decoding: field(r, "ETag") ?? [], as: UTF8.self)
    let modified = field(r, "LastModifiedDate").map { String(decoding: $0, as: UTF8.self) } ?? ""
    ready.append(ListedObject(key: relative, etag: etag, size: size, lastModified: modified))
  }

  func close() {
    closed = true
    reader = nil
    dropTemporary()
  }
}

/// The inventories of a run's pairs, read once before the pairs start (their creation times set the
/// default cutoffs, which the deep-check workers need from the start).
final class InventoryCache: @unchecked Sendable {
  // @unchecked: guarded by `lock`.
  private let lock = NSLock()
  private var loaded: [String: Result<(source: InventorySnapshot?, destination: InventorySnapshot?), Error>] = [:]

  func load(_ pair: PairConfig, endpoints: [String: EndpointConfig], clients: ClientFactory, logger: Logger) {
    func open(_ s: PairSide, _ side: Side) throws -> InventorySnapshot? {
      guard let location = s.inventory else { return nil }
      let client = endpoints[s.inventoryEndpoint ?? s.endpoint].map { clients.client($0) }
      let snapshot = try InventorySnapshot.open(location, client: client)
      guard snapshot.manifest.sourceBucket == s.bucket else {
        throw InventoryError(
          "pair \(pair.name), \(side): the inventory \(snapshot.manifestName) describes bucket '\(snapshot.manifest.sourceBucket)', the pair names '\(s.bucket)': set the side's bucket to the one the inventory describes (deep checks HEAD it)"
        )
      }
      let created = Cutoff(epochSeconds: snapshot.manifest.createdEpochSeconds ?? 0).text
      logger.info(
        "Pair \(pair.name), \(side): S3 Inventory \(snapshot.manifestName) of bucket \(s.bucket), created \(created), \(snapshot.manifest.files.count) data files, columns \(snapshot.manifest.fileSchema)"
      )
      return snapshot
    }
    let r = Result { (try open(pair.source, .source), try open(pair.destination, .destination)) }
    if case .failure(let e) = r { logger.error("Pair \(pair.name): \(e)") }
    lock.withLock { loaded[pair.name] = r.map { (source: $0.0, destination: $0.1) } }
  }

  func snapshots(_ pair: String) throws -> (source: InventorySnapshot?, destination: InventorySnapshot?) {
    guard let r = lock.withLock({ loaded[pair] }) else { return (nil, nil) }
    return try r.get()
  }

  /// The earliest creation time (epoch seconds) of the pair's inventories.
  func createdAt(_ pair: String) -> Int64? {
    guard let s = try? snapshots(pair) else { return nil }
    return [s.source, s.destination].compactMap { $0?.manifest.createdEpochSeconds }.min()
  }
}
