import Foundation
import FuzzSamples
import FuzzSupport
import ResultBlocks

enum ResultRecordInput {
    /// `bytes` as a Data, or as a slice of a larger one (startIndex 3) when `sliced`.
    static func data(_ bytes: [UInt8], sliced: Bool) -> Data {
        sliced ? Data([1, 2, 3] + bytes).dropFirst(3) : Data(bytes)
    }

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        let all = SampleResults.records()
        var seeds: [(name: String, bytes: [UInt8])] = []
        for (i, r) in all.enumerated() {
            seeds.append(("record-\(i)", [0] + r.encoded()))
        }
        seeds.append(("record-slice", [3] + all[1].encoded()))
        for (name, slice) in [("block-1", all[0..<1]), ("block-3", all[3..<6]), ("block-all", all[...])] {
            let block = try ResultBlock.encode(slice)
            seeds.append((name, [1] + [UInt8](block[0].payload)))
            seeds.append((name + "-sliced", [1 | 4] + [UInt8](block[0].payload)))
        }
        seeds.append(("block-legacy-record", [1] + all[2].encoded()))
        // Mode 2: the uncompressed block body (u32 length + record)*, compressed by the target.
        var raw: [UInt8] = []
        for r in all.prefix(4) {
            let e = r.encoded()
            withUnsafeBytes(of: UInt32(e.count).littleEndian) { raw += $0 }
            raw += e
        }
        var w = FuzzInputWriter()
        w.u8(2)
        w.u32(4)
        w.raw(raw)
        seeds.append(("block-body-4", w.bytes))
        return seeds
    }
}
