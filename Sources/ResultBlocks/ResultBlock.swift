import Foundation
import ProbeAgentCore
import RemoteWrite

/// A batch of results as one spill-log record: the write-ahead log appends every result, so it
/// writes them compressed, many to a record (100k targets at 3 s are ~33k results/s).
///
/// Layout (little-endian): u8 0xB1 (block, version 1) | u32 result count | snappy(
/// (u32 length + ResultRecord encoding)*). A payload that starts with anything else is one
/// ResultRecord in its own encoding (what earlier versions spilled), so an old spill log is
/// still read back. The count is outside the compressed part so the log can weigh a record
/// (count its results) without decompressing it.
public enum ResultBlock {
    public static let tag: UInt8 = 0xB1
    /// Most uncompressed bytes in one block: snappy's worst case stays well under the spill
    /// log's 1 MiB record limit.
    public static let maxRawBytes = 512 << 10

    /// The blocks for `records`, in order, each with its result count.
    public static func encode(_ records: ArraySlice<ResultRecord>) throws -> [(payload: Data, count: Int)] {
        var blocks: [(Data, Int)] = []
        var raw: [UInt8] = []
        raw.reserveCapacity(min(maxRawBytes, records.count * 96))
        var count = 0
        func seal() throws {
            guard count > 0 else { return }
            var payload = Data([tag])
            withUnsafeBytes(of: UInt32(count).littleEndian) { payload.append(contentsOf: $0) }
            payload.append(try Snappy.compress(Data(raw)))
            blocks.append((payload, count))
            raw.removeAll(keepingCapacity: true)
            count = 0
        }
        for r in records {
            // Length placeholder, the record encoded in place, then the length patched in.
            let start = raw.count
            raw.append(contentsOf: [0, 0, 0, 0])
            r.encode(into: &raw)
            let length = raw.count - start - 4
            if raw.count > maxRawBytes && count > 0 {
                // Over the block's size: this record opens the next block.
                let moved = Array(raw[start...])
                raw.removeSubrange(start...)
                try seal()
                raw.append(contentsOf: moved)
            }
            let at = raw.count - length - 4
            for i in 0..<4 { raw[at + i] = UInt8(truncatingIfNeeded: UInt32(length) >> (8 * UInt32(i))) }
            count += 1
        }
        try seal()
        return blocks
    }

    /// The results a payload stands for, read from its header (1 for a single old record).
    public static func weight(_ payload: UnsafeRawBufferPointer) -> Int {
        guard payload.count >= 5, payload[0] == tag else { return 1 }
        var n: UInt32 = 0
        for i in 0..<4 { n |= UInt32(payload[1 + i]) << (8 * UInt32(i)) }
        return Int(max(1, min(n, 1 << 20)))
    }

    public struct Corrupt: Error, CustomStringConvertible { public let description: String }

    /// The results of a payload; throws on anything that does not check out (it is input).
    public static func decode(_ payload: Data) throws -> [ResultRecord] {
        guard payload.first == tag else { return [try ResultRecord(decoding: payload)] }
        guard payload.count >= 5 else { throw Corrupt(description: "block header truncated") }
        let expected = payload.withUnsafeBytes { weight($0) }
        let raw = [UInt8](try Snappy.uncompress(payload.dropFirst(5), maxLength: maxRawBytes + (1 << 20)))
        var out: [ResultRecord] = []
        // The header's count is input too: reserve no more than the block can hold (a 5-byte
        // header claiming 1M results reserved 75 MB).
        out.reserveCapacity(min(expected, raw.count / (4 + ResultRecord.minimumEncodedBytes)))
        var at = 0
        while at < raw.count {
            guard raw.count - at >= 4 else { throw Corrupt(description: "record length truncated") }
            let n = Int(raw[at]) | Int(raw[at + 1]) << 8 | Int(raw[at + 2]) << 16 | Int(raw[at + 3]) << 24
            at += 4
            guard n <= raw.count - at else { throw Corrupt(description: "record overruns the block") }
            out.append(try ResultRecord(decoding: raw[at..<at + n]))
            at += n
        }
        guard out.count == expected else { throw Corrupt(description: "block holds \(out.count) results, header says \(expected)") }
        return out
    }
}
