import Testing
@testable import ProbeAgentCore

@Suite("Per-target RTT histograms: 32-bit counts that widen instead of wrapping")
struct RTTHistogramsTests {
    @Test func countsRepliesPerBucketAndSlot() {
        var h = RTTHistograms(bounds: [.milliseconds(1), .milliseconds(10)])
        h.record(slot: 2, nanoseconds: 500_000)
        h.record(slot: 2, nanoseconds: 5_000_000)
        h.record(slot: 2, nanoseconds: 50_000_000)
        h.record(slot: 0, nanoseconds: 1_000_000) // on the bound: that bucket
        #expect(h.slots == 3 && !h.isWide)
        #expect((0..<3).map { h.count(slot: 2, bucket: $0) } == [1, 1, 1])
        #expect((0..<3).map { h.count(slot: 0, bucket: $0) } == [1, 0, 0])
        #expect((0..<3).map { h.count(slot: 1, bucket: $0) } == [0, 0, 0])
        #expect(h.sumNanoseconds[2] == 55_500_000)
        h.reset(slot: 2)
        #expect((0..<3).map { h.count(slot: 2, bucket: $0) } == [0, 0, 0] && h.sumNanoseconds[2] == 0)
    }

    @Test func aCountAboutToWrapWidensTheTableAndKeepsEveryCount() {
        var h = RTTHistograms(bounds: [.milliseconds(1)])
        h.record(slot: 0, nanoseconds: 2_000_000)
        h.setNearWrap(slot: 1, bucket: 0)
        #expect(h.count(slot: 1, bucket: 0) == UInt64(UInt32.max) && !h.isWide)
        h.record(slot: 1, nanoseconds: 100)
        #expect(h.isWide)
        #expect(h.count(slot: 1, bucket: 0) == UInt64(UInt32.max) + 1, "not wrapped to 0")
        #expect(h.count(slot: 0, bucket: 1) == 1, "other slots carried over")
        h.record(slot: 3, nanoseconds: 100) // growing after the widening
        #expect(h.count(slot: 3, bucket: 0) == 1 && h.slots == 4)
        h.reset(slot: 1)
        #expect(h.count(slot: 1, bucket: 0) == 0)
    }
}
