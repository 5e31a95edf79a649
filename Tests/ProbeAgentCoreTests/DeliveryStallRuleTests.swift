import Testing
@testable import ProbeAgentCore

/// ``DeliveryStall``: a store stalled on its own is that store's only; delivery as a whole
/// stalls when nothing is delivering. With the fanout and a manual clock: a store that takes
/// requests and never answers is stalled after its `stall_timeout` while the other delivers.
@Suite struct DeliveryStallRuleTests {
    let names = ["remote_write 'a'", "remote_write 'b'"]
    let timeouts = ["2s", "2s"]

    @Test func oneStoreOfTwoStalledIsThatStoresOnly() {
        let s = DeliveryStall(shared: nil, unanswered: [false, true], names: names, timeouts: timeouts)
        #expect(s.whole == nil, "the other store delivers: /health stays ok, the watchdog is fed")
        #expect(s.stores[0] == nil)
        #expect(s.stores[1] == "delivery stalled: no answer from remote_write 'b' for over 2s with requests on their way")
        #expect(s.summary?.hasSuffix("(the other stores are delivering)") == true, "\(s.summary ?? "nil")")
    }

    @Test func everyStoreStalledIsTheWhole() {
        let s = DeliveryStall(shared: nil, unanswered: [true, true], names: names, timeouts: timeouts)
        #expect(s.whole == "delivery stalled: no answer from remote_write 'a' for over 2s, remote_write 'b' for over 2s with requests on their way")
        #expect(s.stores.allSatisfy { $0 != nil })
        #expect(s.summary == s.whole)
        let one = DeliveryStall(shared: nil, unanswered: [true], names: ["the store"], timeouts: ["30s"])
        #expect(one.whole == "delivery stalled: no answer from the store for over 30s with requests on their way",
                "one store: its stall is the whole, as it always was")
    }

    @Test func aSharedStallIsEveryStoresAndTheWhole() {
        let s = DeliveryStall(shared: "delivery stopped: spill log cannot be opened", unanswered: [false, false],
                              names: names, timeouts: timeouts)
        #expect(s.whole == "delivery stopped: spill log cannot be opened")
        #expect(s.stores == ["delivery stopped: spill log cannot be opened", "delivery stopped: spill log cannot be opened"])
    }

    @Test func noStallNoSummary() {
        let s = DeliveryStall(shared: nil, unanswered: [false, false], names: names, timeouts: timeouts)
        #expect(s.whole == nil && s.summary == nil && s.stores == [nil, nil])
    }

    /// The published figures say the same as the rule: delivery as a whole is stalled when
    /// every store is.
    @Test func publishedFiguresAgreeWithTheRule() {
        for unanswered in [[false, false], [true, false], [false, true], [true, true]] {
            let rule = DeliveryStall(shared: nil, unanswered: unanswered, names: names, timeouts: timeouts)
            let stats = rule.stores.map { reason -> ShipperStats in
                var s = ShipperStats()
                s.stalled = reason
                return s
            }
            #expect(ShipperStats.deliveryStalled(stats) == (rule.whole != nil), "\(unanswered)")
            #expect(ShipperStats.worst(of: stats)?.stalled == rule.stores.compactMap { $0 }.first, "a stalled store is the worst off")
        }
    }

    @Test func aStoreThatNeverAnswersStallsAfterItsTimeoutWhileTheOtherDelivers() {
        var h = FanoutHarness()
        let stallAfter = UInt64(DeliveryHarness.defaults.stallAfter.nanosecondsValue) / msNanos
        var stalledAt: UInt64?
        // Store 1 takes its requests and never answers; store 0 answers every 100 ms.
        for _ in 0..<Int(stallAfter / 100 + 20) {
            h.produce(50)
            h.answer(0, up: true)
            h.advance(ms: 100)
            if stalledAt == nil, h.f.stalledEndpoints(now: h.now) == [1] { stalledAt = UInt64(h.wallMs) }
        }
        #expect(!h.inFlight[1].isEmpty, "store 1 has requests on their way")
        #expect(h.f.stalledEndpoints(now: h.now) == [1], "only store 1")
        #expect(h.delivered[0].count >= h.produced - 50, "store 0 got everything but the batch waiting for its flush")
        // The first request leaves at the first flush; stalled one stall_timeout after it.
        #expect((stalledAt ?? .max) <= 1_000_000 + stallAfter + 300, "stalled at \(stalledAt.map(String.init) ?? "never") ms")
        // Store 1 answers: its stall ends.
        h.answer(1, up: true)
        h.advance(ms: 100)
        #expect(h.f.stalledEndpoints(now: h.now).isEmpty)
    }
}
