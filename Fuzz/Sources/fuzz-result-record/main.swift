// fuzz-result-record: bytes → ResultRecord(decoding:) and ResultBlock.decode, the two decoders
// every spill-log payload goes through when the shipper reads its backlog. Input layout
// (ResultRecordInput.swift):
//
//   u8 mode | the payload
//
// mode bits 0–1: 0 = one ResultRecord; 1 = a ResultBlock as is; 2 = a ResultBlock built here
// around the rest (tag, u32 count from the input, then snappy(rest)), so mutations reach the
// record parser inside the compressed part; 3 = a ResultRecord from an ArraySlice. Bit 2: the
// payload is passed as a Data slice that does not start at index 0.
//
// Contract: hostile bytes throw, never trap; whatever decodes survives encode → decode
// unchanged, a block holds as many results as its header says, and the results map to samples.

import Foundation
import FuzzSupport
import ProbeAgentCore
import RemoteWrite
import ResultBlocks

Fuzzer.main(seeds: ResultRecordInput.seeds) { bytes in
    var input = FuzzInput(bytes)
    let mode = input.u8()
    let sliced = mode & 4 != 0
    switch mode & 3 {
    case 0, 3:
        let rest = input.rest()
        let decoded = mode & 3 == 0
            ? try? ResultRecord(decoding: rest)
            : try? ResultRecord(decoding: ([0x5A] + rest)[1...])
        if let record = decoded { checkRoundTrip([record]) }
    case 1:
        decodeBlock(ResultRecordInput.data(input.rest(), sliced: sliced))
    default:
        let count = input.u32()
        guard let packed = try? Snappy.compress(Data(input.rest())) else { return }
        var block = [ResultBlock.tag]
        withUnsafeBytes(of: count.littleEndian) { block += $0 }
        decodeBlock(ResultRecordInput.data(block + packed, sliced: sliced))
    }
}

func decodeBlock(_ payload: Data) {
    guard let records = try? ResultBlock.decode(payload) else { return }
    let weight = payload.withUnsafeBytes { ResultBlock.weight($0) }
    Fuzzer.check(records.count == weight, "block of \(records.count) results weighs \(weight)")
    checkRoundTrip(records)
}

/// Decoded results encode and decode back to themselves (as single records and as blocks),
/// and each becomes its samples.
func checkRoundTrip(_ records: [ResultRecord]) {
    for r in records {
        let again = try? ResultRecord(decoding: r.encoded())
        Fuzzer.check(again == r, "record does not survive encode → decode: \(r)")
        let samples = SeriesMapping.samples(of: r, externalLabels: [])
        Fuzzer.check(samples.count == SeriesMapping.sampleCount(of: r), "sample count of \(r)")
    }
    do {
        let blocks = try ResultBlock.encode(records[...])
        Fuzzer.check(blocks.map(\.count).reduce(0, +) == records.count, "blocks count \(records.count) results wrong")
        let back = try blocks.flatMap { try ResultBlock.decode($0.payload) }
        Fuzzer.check(back == records, "results do not survive ResultBlock.encode → decode")
    } catch {
        Fuzzer.check(false, "decoded results do not encode again: \(error)")
    }
}
