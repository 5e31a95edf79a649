// A persisted read position: where a reader's next unacknowledged record starts. One file per
// reader (SpillLog+Readers.swift): `read-<name>.pos`, and `read.pos` for the nameless reader of
// a log opened without reader names (the only file before several stores).
//
//   offset  size  field
//        0     4  magic     "SPRP"
//        4     4  version   u32 LE, 1
//        8     8  segment   u64 LE, segment id
//       16     8  offset    u64 LE, byte offset in that segment
//       24     4  crc       CRC-32C of bytes 0..<24
//
// Written atomically: `read.pos.tmp` is written and fsynced, renamed over `read.pos`, then the
// directory is fsynced, so after a crash the file holds either the old or the new position,
// never a mix. A missing or unreadable file means "from the oldest record" (at-least-once:
// records may be delivered twice, never skipped). Cost of one save: one small write, two
// fsyncs (skipped under `FsyncPolicy.never`), one rename.

#if canImport(Glibc)
import Glibc
#endif

enum ReadPositionFile {
    /// The nameless reader's file (and the one file of a log written before readers had names).
    static let name = "read.pos"

    /// The position file of reader `reader` ("" = the nameless one).
    static func fileName(reader: String) -> String { reader.isEmpty ? name : "read-" + reader + ".pos" }

    /// The reader a position file (or its temp file) belongs to, "" for `read.pos`; nil when
    /// `file` is not a position file.
    static func readerName(ofFile file: String) -> String? {
        let base = file.hasSuffix(".tmp") ? String(file.dropLast(4)) : file
        if base == name { return "" }
        guard base.hasPrefix("read-"), base.hasSuffix(".pos") else { return nil }
        let reader = String(base.dropFirst(5).dropLast(4))
        return SpillLog.isValidReaderName(reader) ? reader : nil
    }
    static let size = 28
    private static let magic: UInt32 = 0x5052_5053 // "SPRP" little-endian

    static func encode(segment: UInt64, offset: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBytes { b in
            b.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: UInt32(1).littleEndian, toByteOffset: 4, as: UInt32.self)
            b.storeBytes(of: segment.littleEndian, toByteOffset: 8, as: UInt64.self)
            b.storeBytes(of: UInt64(offset).littleEndian, toByteOffset: 16, as: UInt64.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<24]))
            b.storeBytes(of: crc.littleEndian, toByteOffset: 24, as: UInt32.self)
        }
        return bytes
    }

    /// The (segment, offset) stored in `bytes`, or nil if they are not a valid position file.
    static func decode(_ bytes: [UInt8]) -> (segment: UInt64, offset: Int)? {
        guard bytes.count == size else { return nil }
        return bytes.withUnsafeBytes { b in
            guard UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) == magic,
                  UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) == 1,
                  UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 24, as: UInt32.self))
                    == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<24]))
            else { return nil }
            let offset = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            guard offset <= UInt64(Int.max) else { return nil }
            return (UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self)), Int(offset))
        }
    }

    /// Reads the position in `directory`'s `file`; nil when missing or invalid.
    static func load(directory: String, file: String = name) throws -> (segment: UInt64, offset: Int)? {
        let path = directory + "/" + file
        let fd: Int32
        do { fd = try Sys.open(path, O_RDONLY) } catch SpillError.system(_, _, ENOENT) { return nil }
        defer { Sys.close(fd) }
        var bytes = [UInt8](repeating: 0, count: size + 1)
        let n = try bytes.withUnsafeMutableBytes { try Sys.preadFull(fd, $0, at: 0, path) }
        return decode(Array(bytes[0..<n]))
    }

    /// Saves atomically (see the file comment); `durable: false` skips both fsyncs.
    static func save(segment: UInt64, offset: Int, directory: String, file: String = name, directoryFD: Int32,
                     durable: Bool) throws {
        let temp = directory + "/" + file + ".tmp"
        let fd = try Sys.open(temp, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            let bytes = encode(segment: segment, offset: offset)
            try bytes.withUnsafeBytes { try Sys.pwriteAll(fd, $0, at: 0, temp) }
            if durable { try Sys.fsync(fd, temp) }
        } catch {
            Sys.close(fd)
            try? Sys.unlink(temp)
            throw error
        }
        Sys.close(fd)
        try Sys.rename(temp, directory + "/" + file)
        if durable { try Sys.fsync(directoryFD, directory) }
    }
}
