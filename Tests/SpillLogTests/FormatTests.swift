import Foundation
import Testing
@testable import SpillLog

@Suite struct FormatTests {
    @Test func crc32cCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        // Slicing-by-8 and the byte loop agree at every length and alignment.
        let bytes = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 73 &+ 11) }
        for start in 0..<9 {
            for end in start...bytes.count {
                let slice = Array(bytes[start..<end])
                var c = CRC32C.initial
                for b in slice { c = [b].withUnsafeBytes { CRC32C.update(c, $0) } }
                #expect(CRC32C.finish(c) == CRC32C.checksum(slice))
            }
        }
    }

    @Test func recordRoundTripAndFieldCoverage() {
        var buffer: [UInt8] = []
        Data("hello".utf8).withUnsafeBytes { RecordFormat.encode(payload: $0, timestamp: -42, into: &buffer) }
        #expect(buffer.count == 25)
        #expect(Array(buffer[0..<4]) == [0xA7, 0x53, 0x50, 0x31])
        let decoded = buffer.withUnsafeBytes { RecordFormat.decode($0, at: 0) }
        #expect(decoded == .record(timestamp: -42, payloadLength: 5))
        // Every byte is covered: magic by comparison, the rest by length check or CRC.
        for i in 0..<buffer.count {
            var bad = buffer
            bad[i] ^= 0x01
            let result = bad.withUnsafeBytes { RecordFormat.decode($0, at: 0) }
            #expect(result != decoded, "flip at \(i) went unnoticed")
        }
        // A prefix is "need more", never a record.
        for n in 0..<buffer.count {
            let result = Array(buffer[0..<n]).withUnsafeBytes { RecordFormat.decode($0, at: 0) }
            if case .record = result { Issue.record("prefix \(n) decoded as a record") }
        }
    }

    @Test func segmentNames() {
        #expect(Segment.fileName(0x1f) == "seg-000000000000001f.log")
        #expect(Segment.id(fromFileName: "seg-000000000000001f.log") == 0x1f)
        #expect(Segment.id(fromFileName: "seg-000000000000001F.log") == nil)
        #expect(Segment.id(fromFileName: "seg-1f.log") == nil)
        #expect(Segment.id(fromFileName: "seg-000000000000001f.log.tmp") == nil)
    }

    @Test func readPositionFile() {
        let bytes = ReadPositionFile.encode(segment: 7, offset: 1234)
        let decoded = ReadPositionFile.decode(bytes)
        #expect(decoded?.segment == 7 && decoded?.offset == 1234)
        for i in 0..<bytes.count {
            var bad = bytes
            bad[i] ^= 0x10
            #expect(ReadPositionFile.decode(bad) == nil)
        }
    }
}
