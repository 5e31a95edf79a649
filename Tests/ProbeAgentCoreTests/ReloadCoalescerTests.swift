import Testing
@testable import ProbeAgentCore

@Suite("Reload coalescing: one running, one waiting, every requester answered")
struct ReloadCoalescerTests {
    @Test func theFirstRequestStartsAtOnce() throws {
        var c = ReloadCoalescer<Int>()
        let started = c.request(reason: "admin API", waiter: 1)
        let batch = try #require(started)
        #expect(batch.waiters == [1] && batch.reason == "admin API")
        #expect(c.isRunning && c.waitingCount == 0)
    }

    @Test func requestsWhileOneRunsBecomeOneNextReloadAndEachIsAnswered() throws {
        var c = ReloadCoalescer<Int>()
        #expect(c.request(reason: "admin API", waiter: 0) != nil)
        var startedMeanwhile = 0
        for w in 1...9 where c.request(reason: w == 5 ? "SIGHUP" : "admin API", waiter: w) != nil { startedMeanwhile += 1 }
        #expect(startedMeanwhile == 0)
        #expect(c.waitingCount == 9 && c.coalesced == 8)

        let (first, next) = c.finished()
        #expect(first.waiters == [0], "the running reload answers only who asked before it started")
        let second = try #require(next, "everything asked meanwhile starts now, as one reload")
        #expect(second.waiters == Array(1...9))
        #expect(second.reason == "admin API ×8, SIGHUP")

        let (done, none) = c.finished()
        #expect(done.waiters == Array(1...9) && none == nil)
        #expect(!c.isRunning)
        let again = c.request(reason: "file changed", waiter: 10)
        #expect(again?.waiters == [10], "idle again: starts at once")
    }

    @Test func aRequestDuringTheSecondReloadWaitsForAThird() throws {
        var c = ReloadCoalescer<Int>()
        _ = c.request(reason: "a", waiter: 1)
        _ = c.request(reason: "b", waiter: 2)
        let second = try #require(c.finished().start)
        #expect(second.waiters == [2])
        let third = c.request(reason: "c", waiter: 3)
        #expect(third == nil, "the second may have read the file before this edit")
        let (done, next) = c.finished()
        #expect(done.waiters == [2] && next?.waiters == [3])
    }

    @Test func aHundredRequestsDuringOneReloadCostTwoReloads() {
        var c = ReloadCoalescer<Int>()
        var started = 0
        var answered: [Int] = []
        for w in 0..<100 where c.request(reason: "admin API", waiter: w) != nil { started += 1 }
        while c.isRunning {
            let (done, next) = c.finished()
            answered += done.waiters
            if next != nil { started += 1 }
        }
        #expect(started == 2)
        #expect(answered == Array(0..<100), "every requester answered exactly once, in order")
    }
}
