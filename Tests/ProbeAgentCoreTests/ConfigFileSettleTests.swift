import Foundation
import Testing
@testable import ProbeAgentCore

/// When a changed config file is read: only once it has held still (SettledFileChange), with
/// time passed in by the test.
@Suite struct ConfigFileSettleTests {
    typealias Watch = SettledFileChange<Int?>
    static let quiet = secondNanos

    /// One poll, outside `#expect` (which cannot take a mutating call).
    func poll(_ watch: inout Watch, _ stamp: Int?, _ now: UInt64) -> Bool { watch.poll(stamp, now: now) }

    @Test func aChangeIsReadOnlyAfterItHasHeldStillForTheQuietPeriod() {
        var watch = Watch(read: 1, quietNanoseconds: Self.quiet)
        #expect(!poll(&watch, 1, 0), "unchanged")
        #expect(!poll(&watch, 2, 500 * msNanos), "new: the wait starts")
        #expect(!poll(&watch, 2, 1_400 * msNanos), "0.9 s still")
        #expect(poll(&watch, 2, 1_500 * msNanos), "1 s still: read it")
        watch.didRead(2)
        #expect(!poll(&watch, 2, 2_000 * msNanos), "read already")
    }

    @Test func aFileStillChangingRestartsTheWait() {
        var watch = Watch(read: 1, quietNanoseconds: Self.quiet)
        var now: UInt64 = 0
        // A writer changes the file every 0.5 s for 5 s: never read meanwhile.
        for version in 2...11 {
            now += 500 * msNanos
            #expect(!poll(&watch, version, now))
        }
        now += 500 * msNanos
        #expect(!poll(&watch, 11, now))
        now += 500 * msNanos
        #expect(poll(&watch, 11, now), "1 s after the last change")
    }

    @Test func aChangeUndoneIsNotRead() {
        var watch = Watch(read: 1, quietNanoseconds: Self.quiet)
        #expect(!poll(&watch, 2, 0))
        #expect(!poll(&watch, 1, 500 * msNanos))
        #expect(!poll(&watch, 1, 5 * secondNanos))
    }

    @Test func aRemovedFileCountsAsAChangeOnceItHasLasted() {
        var watch = Watch(read: 1, quietNanoseconds: Self.quiet)
        #expect(!poll(&watch, nil, 0))
        #expect(poll(&watch, nil, secondNanos))
    }

    @Test func aReadOnRequestResetsTheWait() {
        var watch = Watch(read: 1, quietNanoseconds: Self.quiet)
        #expect(!poll(&watch, 2, 0))
        watch.didRead(2) // SIGHUP read it meanwhile
        #expect(!poll(&watch, 2, 2 * secondNanos))
    }

    /// A real file written in place in two halves with a pause, polled every 0.5 s of a manual
    /// clock: only the complete file is read, so only the complete config is loaded.
    @Test func aFileWrittenInTwoHalvesIsReadWhole() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("settle-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let old = "monitors:\n  - {id: old, protocol: icmp, targets: [127.0.0.1]}\n"
        let new = "monitors:\n  - id: new\n    protocol: icmp\n    targets: [127.0.0.2, 127.0.0.3]\n"
        try old.write(toFile: path, atomically: false, encoding: .utf8)
        var watch = SettledFileChange(read: CredentialFile.stamp(path), quietNanoseconds: Self.quiet)
        var now: UInt64 = 0
        var loaded: [String] = []
        func poll() {
            now += 500 * msNanos
            guard watch.poll(CredentialFile.stamp(path), now: now) else { return }
            watch.didRead(CredentialFile.stamp(path))
            loaded.append((try? AgentConfig.load(contentsOf: path))?.monitors.map(\.id).joined() ?? "invalid")
        }
        // In place, as an editor without atomic save does: truncate, first half, pause, rest.
        let bytes = Array(new.utf8)
        let fd = open(path, O_WRONLY | O_TRUNC)
        #expect(fd >= 0)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, bytes.count / 2) }
        poll()
        usleep(20_000) // let the mtime move on, whatever its granularity
        poll()         // the writer pauses 0.5 s of the manual clock, less than the quiet period
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + bytes.count / 2, bytes.count - bytes.count / 2) }
        close(fd)
        for _ in 0..<4 { poll() }
        #expect(loaded == ["new"], "read once, complete: \(loaded)")
    }
}
