import Foundation
import Testing
@testable import SpillLog
#if canImport(Glibc)
import Glibc
#endif

/// A real full disk: a 64 KiB tmpfs mounted for the test (root only).
enum TinyDisk {
    static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/" + arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    static func mount(_ dir: String) -> Bool { run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]) }
    static func unmount(_ dir: String) { _ = run(["umount", dir]) }

    /// Root, and the kernel lets us mount a tmpfs (not in every container).
    static let available: Bool = {
        guard geteuid() == 0 else { return false }
        let dir = TempDir()
        defer { dir.remove() }
        guard mount(dir.path) else { return false }
        unmount(dir.path)
        return true
    }()
}

@Suite struct DiskFullTests {
    @Test(.enabled(if: TinyDisk.available, "needs root and permission to mount a tmpfs"))
    func fullDiskThrowsDiskFullAndKeepsTheLogConsistent() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let mountPoint = dir.path + "/disk"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        #expect(TinyDisk.mount(mountPoint))
        defer { TinyDisk.unmount(mountPoint) }
        let logDir = mountPoint + "/spill"
        let options = SpillOptions(segmentBytes: 16 << 10, maxBytes: 1 << 30, fsync: .always)

        var log = try SpillLog(directory: logDir, options: options)
        var written: [Int] = []
        var failure: SpillError?
        var next = 0
        for _ in 0..<1000 where failure == nil {
            let batch = (next..<next + 7).map { entry($0, size: 300) }
            do {
                try log.append(batch)
                written += next..<next + 7
            } catch let error as SpillError {
                failure = error
            }
            next += 7
        }
        guard case .diskFull(let path)? = failure else {
            Issue.record("expected diskFull, got \(String(describing: failure))")
            return
        }
        #expect(path.hasPrefix(logDir + "/seg-"))
        #expect(failure!.description.contains(path) && failure!.description.contains("disk full"))
        #expect(written.count > 100)
        #expect(log.stats.pendingRecords == written.count)
        #expect(log.stats.bytesOnDisk == bytesOnDisk(logDir))
        // Still full: the next append fails the same way, and changes nothing.
        #expect(throws: SpillError.self) { try log.append((0..<20).map { entry(10_000 + $0, size: 300) }) }
        #expect(log.stats.pendingRecords == written.count)
        try log.close()

        // Reopens cleanly with every record that was reported written.
        log = try SpillLog(directory: logDir, options: options)
        #expect(log.stats.tornTailBytes == 0 && log.stats.corruptRecords == 0)
        #expect(try drain(log, commit: false) == written)

        // Delivering frees whole segments; appends succeed again.
        log.rewind()
        let half = try log.read(max: written.count / 2)
        try log.commit(through: half.last!.position)
        try log.append((5000..<5010).map { entry($0, size: 300) })
        try log.close()
        log = try SpillLog(directory: logDir, options: options)
        #expect(try drain(log) == Array(written[(written.count / 2)...]) + Array(5000..<5010))
        try log.close()
    }
}
