import Foundation
import ProbeAgentCore
import ResultBlocks
@testable import Shipper
import TestSupport
import Testing

/// The write-ahead log's record: a snappy-compressed block of results.
@Suite struct ResultBlockTests {
    static func records(_ n: Int, labels: Int = 2, seed: UInt64 = 1) -> [ResultRecord] {
        var rng = SeededRandom(seed: seed)
        var out: [ResultRecord] = []
        for i in 0..<n {
            let failed = i % 5 == 0
            let rtt: UInt64? = failed ? nil : UInt64(rng.below(1_000_000))
            var pairs: [(String, String)] = []
            for k in 0..<labels { pairs.append(("k\(k)", "v\(rng.below(100))")) }
            let target = "198.18.\(i / 256 % 256).\(i % 256)"
            out.append(ResultRecord(monitorID: "m\(i % 7)", target: target, probeProtocol: .icmp,
                                    outcome: failed ? .timeout : .ok, suppressed: i % 11 == 0, rttNanoseconds: rtt,
                                    timestampMilliseconds: 1_700_000_000_000 + Int64(i), labels: pairs))
        }
        return out
    }

    @Test func blocksRoundTripAndWeighTheirResults() throws {
        let records = Self.records(5_000)
        let blocks = try ResultBlock.encode(records[...])
        #expect(blocks.map(\.count).reduce(0, +) == 5_000)
        var back: [ResultRecord] = []
        for b in blocks {
            #expect(b.payload.withUnsafeBytes { ResultBlock.weight($0) } == b.count)
            #expect(b.payload.count < ResultBlock.maxRawBytes)
            back += try ResultBlock.decode(b.payload)
        }
        #expect(back == records)
    }

    @Test func largeBatchesSplitIntoBlocksUnderTheSizeLimitInOrder() throws {
        // Long labels: ~600 bytes a result, so 5,000 results need several blocks.
        let records = Self.records(5_000, labels: 40)
        let blocks = try ResultBlock.encode(records[...])
        #expect(blocks.count > 1)
        #expect(try blocks.flatMap { try ResultBlock.decode($0.payload) } == records)
    }

    @Test func aSingleRecordOfAnEarlierVersionStillDecodes() throws {
        let r = Self.records(1)[0]
        let legacy = Data(r.encoded())
        #expect(legacy.withUnsafeBytes { ResultBlock.weight($0) } == 1)
        #expect(try ResultBlock.decode(legacy) == [r])
    }

    @Test func corruptBlocksThrowAndNeverCrash() throws {
        let payload = try ResultBlock.encode(Self.records(100)[...])[0].payload
        var rng = SeededRandom(seed: 7)
        for n in [0, 1, 4, 5, 6, payload.count / 2, payload.count - 1] {
            #expect(throws: (any Error).self) { try ResultBlock.decode(payload.prefix(n)) }
        }
        for _ in 0..<500 {
            var bad = payload
            bad[rng.below(bad.count)] ^= UInt8(1 + rng.below(255))
            if let decoded = try? ResultBlock.decode(bad) { #expect(decoded.count <= 100) }
        }
        var wrongCount = payload
        wrongCount[1] = 99
        #expect(throws: (any Error).self) { try ResultBlock.decode(wrongCount) }
    }
}
