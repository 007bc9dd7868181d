import Foundation
import Testing

@testable import BucketDelta

@Suite("Checkpoint store")
struct CheckpointStoreTests {
  private func checkpoint(_ store: CheckpointStore, pid: Int32?) -> Checkpoint {
    Checkpoint(
      fingerprint: store.fingerprint, lastKey: "k", reportBytes: 0, objectsProcessed: 1, onlyInSource: 0,
      onlyInDestination: 0, different: 0, errors: 0, sortedSides: [], resumes: 0, updatedAt: "t", pid: pid)
  }

  @Test("A fresh start removes the pair's other checkpoints, but not one a running process is writing")
  func deleteAllSparesLiveWriters() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bd-cp-\(UUID().uuidString)").path
    let mine = CheckpointStore(directory: dir, pair: "p", reportPath: "/r/a.txt", fingerprint: "f")
    let dead = CheckpointStore(directory: dir, pair: "p", reportPath: "/r/b.txt", fingerprint: "f")
    let live = CheckpointStore(directory: dir, pair: "p", reportPath: "/r/c.txt", fingerprint: "f")
    let other = CheckpointStore(directory: dir, pair: "p-2", reportPath: "/r/d.txt", fingerprint: "f")
    let sleeper = Process()
    sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
    sleeper.arguments = ["30"]
    try sleeper.run()
    defer { sleeper.terminate() }
    let exited = Process()
    exited.executableURL = URL(fileURLWithPath: "/bin/true")
    try exited.run()
    exited.waitUntilExit()
    try mine.save(checkpoint(mine, pid: getpid()))
    try dead.save(checkpoint(dead, pid: exited.processIdentifier))
    try live.save(checkpoint(live, pid: sleeper.processIdentifier))
    try other.save(checkpoint(other, pid: nil))
    let orphanTemp = dead.path + ".tmp-\(exited.processIdentifier)"
    let liveTemp = live.path + ".tmp-\(sleeper.processIdentifier)"
    for t in [orphanTemp, liveTemp] { FileManager.default.createFile(atPath: t, contents: Data("{".utf8)) }
    mine.deleteAll()
    let exists = { (p: String) in FileManager.default.fileExists(atPath: p) }
    #expect(!exists(mine.path))
    #expect(!exists(dead.path) && !exists(orphanTemp), "a finished run's files are stale")
    #expect(exists(live.path) && exists(liveTemp), "a running process's checkpoint stays")
    #expect(exists(other.path), "another pair's checkpoint stays")
    #expect(CheckpointStore.isCheckpointFile("p-0123456789ab.checkpoint.tmp-42", pair: "p"))
    #expect(!CheckpointStore.isCheckpointFile("p-2-0123456789ab.checkpoint", pair: "p"))
  }
}
