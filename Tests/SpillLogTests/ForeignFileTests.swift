import Foundation
import Testing
@testable import SpillLog
#if canImport(Glibc)
import Glibc
#endif

/// A spill directory that holds more than the log's own files: what an operator, a backup tool
/// or a damaged disk leaves there is skipped with a warning, never read, written or deleted.
@Suite struct ForeignFileTests {
    // 60-byte records, 10 per segment.
    let options = SpillOptions(segmentBytes: 600, maxBytes: 1 << 20, fsync: .never)

    @Test func segmentNamesOutOfRange() {
        #expect(Segment.kind(ofFileName: "seg-0000000000000001.log") == .segment(1))
        #expect(Segment.kind(ofFileName: "seg-7fffffffffffffff.log") == .segment(UInt64(Int64.max)))
        #expect(Segment.kind(ofFileName: "read.pos") == .other)
        for bad in ["seg-0000000000000000.log", "seg-8000000000000000.log", "seg-ffffffffffffffff.log",
                    "seg-10000000000000000.log", "seg-1.log", "seg-000000000000001F.log",
                    "seg-00000000000000zz.log", "seg-0000000000000001.log.bak", "seg-0000000000000001.tmp",
                    "seg-.log", "seg-"] {
            guard case .badSegment(let why) = Segment.kind(ofFileName: bad) else {
                Issue.record("\(bad) was not refused")
                continue
            }
            #expect(!why.isEmpty)
        }
    }

    @Test func foreignFilesAndBadNamesAreSkippedWithWarnings() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var log = try SpillLog(directory: dir.log, options: options)
        try log.append((0..<25).map { entry($0) })
        try log.commit(through: try log.read(max: 3)[2].position) // 0...2 delivered
        try log.close()
        #expect(log.openWarnings.isEmpty)
        #expect(segmentFiles(dir.log) == ["seg-0000000000000001.log", "seg-0000000000000002.log", "seg-0000000000000003.log"])

        // What does not belong, each with its own content so a change would show.
        let fm = FileManager.default
        let junkFiles = ["notes.txt", ".hidden", "read.pos.old", "seg-1.log", "seg-00000000000000zz.log",
                         "seg-0000000000000000.log", "seg-10000000000000000.log", "seg-ffffffffffffffff.log",
                         "seg-000000000000000A.log", "seg-0000000000000002.tmp", "seg-0000000000000001.log.bak"]
        for name in junkFiles {
            #expect(fm.createFile(atPath: dir.log + "/" + name, contents: Data("junk \(name)".utf8)))
        }
        // A segment file's content under an id-0 name must not be read as records either.
        let realSegment = try Data(contentsOf: URL(fileURLWithPath: dir.log + "/seg-0000000000000002.log"))
        try realSegment.write(to: URL(fileURLWithPath: dir.log + "/seg-0000000000000000.log"))
        // Named like segments, but not regular files.
        try fm.createDirectory(atPath: dir.log + "/seg-0000000000000006.log", withIntermediateDirectories: false)
        try fm.createDirectory(atPath: dir.log + "/dead-letter", withIntermediateDirectories: false)
        let target = dir.path + "/outside.txt"
        #expect(fm.createFile(atPath: target, contents: Data("not yours".utf8)))
        try fm.createSymbolicLink(atPath: dir.log + "/seg-0000000000000004.log", withDestinationPath: target)
        #expect(mkfifo(dir.log + "/seg-0000000000000005.log", 0o644) == 0)
        let skipped = junkFiles + ["seg-0000000000000004.log", "seg-0000000000000005.log", "seg-0000000000000006.log"]

        log = try SpillLog(directory: dir.log, options: options)
        #expect(log.openWarnings.count == skipped.count, "\(log.openWarnings)")
        for name in skipped {
            #expect(log.openWarnings.contains { $0.contains(dir.log + "/" + name + ":") && $0.contains("skipped") }, "\(name)")
        }
        for own in ["dead-letter", "read.pos", "lock"] {
            #expect(!log.openWarnings.contains { $0.contains("/" + own + ":") }, "\(own)")
        }
        #expect(log.openWarnings.contains { $0.contains("seg-0000000000000004.log") && $0.contains("symlink") })
        #expect(log.openWarnings.contains { $0.contains("seg-0000000000000006.log") && $0.contains("directory") })
        #expect(log.openWarnings.contains { $0.contains("seg-0000000000000000.log") && $0.contains("id 0") })
        #expect(log.stats.corruptRecords == 0 && log.stats.tornTailBytes == 0)
        #expect(log.stats.pendingRecords == 22)

        // The real records read back; new segments are numbered past every segment-like name,
        // so the symlink's target is never opened for writing.
        #expect(try drain(log, commit: false) == Array(3..<25))
        try log.append((25..<45).map { entry($0) })
        #expect(log.segments.map(\.id) == [1, 2, 3, 7, 8])
        #expect(try drain(log) == Array(25..<45))
        try log.close()

        for name in junkFiles where name != "seg-0000000000000000.log" {
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir.log + "/" + name)) == Data("junk \(name)".utf8), "\(name)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.log + "/seg-0000000000000000.log")) == realSegment)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data("not yours".utf8))
        #expect((try? fm.destinationOfSymbolicLink(atPath: dir.log + "/seg-0000000000000004.log")) == target)
        var isDir: ObjCBool = false
        #expect(fm.fileExists(atPath: dir.log + "/seg-0000000000000006.log", isDirectory: &isDir) && isDir.boolValue)
        #expect(fm.fileExists(atPath: dir.log + "/seg-0000000000000005.log"))

        // And again: the same warnings, nothing lost.
        log = try SpillLog(directory: dir.log, options: options)
        #expect(log.openWarnings.count == skipped.count)
        #expect(log.stats.pendingRecords == 0)
        try log.close()
    }

    @Test func deadLetterThatIsAFileIsSkippedWithAWarning() throws {
        let dir = TempDir()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.log, withIntermediateDirectories: false)
        #expect(FileManager.default.createFile(atPath: dir.log + "/dead-letter", contents: Data("x".utf8)))
        let log = try SpillLog(directory: dir.log, options: options)
        #expect(log.openWarnings.count == 1)
        #expect(log.openWarnings.first?.contains(dir.log + "/dead-letter:") == true)
        try log.close()
        #expect(FileManager.default.fileExists(atPath: dir.log + "/dead-letter"))
    }
}
