import Foundation
import S3
import Testing

@testable import BucketDelta

private func obj(_ key: String, _ etag: String = "e", _ size: Int64 = 1) -> ListedObject {
  ListedObject(key: key, etag: etag, size: size, lastModified: "")
}

/// Runs the merge-join with order guards and renders each event as `-key`, `+key`, `=key` or `*key`.
private func merge(_ s: [ListedObject], _ d: [ListedObject]) throws -> [String] {
  let m = MergeJoin(
    source: OrderGuard(ArrayObjectStream(s), side: .source),
    destination: OrderGuard(ArrayObjectStream(d), side: .destination))
  var out: [String] = []
  while let e = try m.next() {
    switch e {
    case .onlyInSource(let o): out.append("-" + o.key)
    case .onlyInDestination(let o): out.append("+" + o.key)
    case .inBoth(let a, _):
      let status = ShallowCheck.evaluate(e).status
      out.append((status == .identical ? "=" : status == .different ? "*" : "?") + a.key)
    }
  }
  return out
}

@Suite("Merge-join")
struct MergeJoinTests {
  @Test(
    "Table of listings",
    arguments: [
      ([String](), [String](), [String]()),
      (["a"], [], ["-a"]),
      ([], ["a"], ["+a"]),
      (["a", "b", "c"], ["a", "b", "c"], ["=a", "=b", "=c"]),
      (["a", "c"], ["b", "d"], ["-a", "+b", "-c", "+d"]),
      (["a", "ab", "abc"], ["ab"], ["-a", "=ab", "-abc"]),  // keys that are prefixes of each other
      (["a-c", "a.b", "a/b", "a0"], ["a/b"], ["-a-c", "-a.b", "=a/b", "-a0"]),
      (["Z", "a"], ["a", "b"], ["-Z", "=a", "+b"]),  // upper case sorts first in bytes
    ])
  func table(source: [String], destination: [String], expected: [String]) throws {
    #expect(try merge(source.map { obj($0) }, destination.map { obj($0) }) == expected)
  }

  @Test(
    "Differing MD5 ETags or sizes are flagged, other differing ETags are unverified; quotes around ETags are not a difference"
  )
  func differing() throws {
    let x = String(repeating: "a", count: 32)
    let y = String(repeating: "b", count: 32)
    #expect(try merge([obj("k", "\"x\"", 1)], [obj("k", "x", 1)]) == ["=k"])
    #expect(try merge([obj("k", x, 1)], [obj("k", y, 1)]) == ["*k"])
    #expect(try merge([obj("k", "x", 1)], [obj("k", "y", 1)]) == ["?k"])
    #expect(try merge([obj("k", "x", 1)], [obj("k", "x", 2)]) == ["*k"])
    #expect(
      ShallowCheck.evaluate(.inBoth(source: obj("k", "x", 1), destination: obj("k", "y", 2))).fields == [.etag, .size])
  }

  @Test("NFC and NFD spellings are different keys (String == would call them equal)")
  func unicodeNormalization() throws {
    let nfc = "caf\u{E9}"
    let nfd = "cafe\u{301}"
    #expect(nfc == nfd)  // Swift's String equality: canonical equivalence
    #expect(try merge([obj(nfc)], [obj(nfd)]) == ["+" + nfd, "-" + nfc])
  }

  @Test("Byte order, not Character order: U+FFFD before U+1F600, DEL before NBSP")
  func byteOrder() throws {
    #expect(KeyOrder.less("\u{FFFD}", "\u{1F600}"))
    #expect(KeyOrder.less("\u{7F}", "\u{A0}"))
    #expect(!KeyOrder.less("b", "a"))
    #expect(KeyOrder.compare("a", "a") == 0)
    #expect(KeyOrder.compare("", "a") == -1)
  }

  @Test("A listing that goes backwards throws instead of giving a verdict")
  func backwards() {
    #expect(throws: ListingOrderError.self) { try merge([obj("b"), obj("a")], [obj("a"), obj("b")]) }
    do {
      _ = try merge([obj("a")], [obj("a/b"), obj("a-c")])
      Issue.record("expected an error")
    } catch let e as ListingOrderError {
      #expect(e.kind == .backwards)
      #expect(e.side == .destination)
      #expect(e.key == "a-c")
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test("A repeated key throws")
  func duplicate() {
    do {
      _ = try merge([obj("a"), obj("a")], [])
      Issue.record("expected an error")
    } catch let e as ListingOrderError {
      #expect(e.kind == .duplicate)
    } catch {
      Issue.record("unexpected \(error)")
    }
  }
}

@Suite("External sort")
struct ExternalSorterTests {
  @Test("Runs spill to disk and merge back into byte order", arguments: [1, 3, 1000])
  func sorts(runSize: Int) throws {
    var keys = (0..<257).map { "k\(($0 * 7919) % 257)" } + ["a-c", "a/b", "a.b", "\u{E9}", "e\u{301}", "Z"]
    keys.shuffle()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bd-sort-\(UUID().uuidString)")
    let sorter = ExternalSorter(runSize: runSize, directory: dir)
    let out = try sorter.sorted(ArrayObjectStream(keys.enumerated().map { obj($1, "etag\($0)", Int64($0)) }))
    var got: [ListedObject] = []
    while let o = try out.next() { got.append(o) }
    let expected = keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    #expect(got.map { Array($0.key.utf8) } == expected.map { Array($0.utf8) })
    // fields travel with their key through the spill files
    for o in got {
      let i = keys.firstIndex { Array($0.utf8) == Array(o.key.utf8) }!
      #expect(o.etag == "etag\(i)")
      #expect(o.size == Int64(i))
    }
    #expect(!FileManager.default.fileExists(atPath: dir.path))
  }
}
