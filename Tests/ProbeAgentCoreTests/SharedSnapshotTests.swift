import Testing
@testable import ProbeAgentCore

@Suite("Shared scrape snapshot: one request to the loop per reuse window")
struct SharedSnapshotTests {
    typealias Shared = SharedSnapshot<String, Int>
    static let second: UInt64 = 1_000_000_000

    func isFetch(_ a: Shared.Action) -> Bool { if case .fetch = a { return true }; return false }
    func isWait(_ a: Shared.Action) -> Bool { if case .wait = a { return true }; return false }
    func used(_ a: Shared.Action) -> String? { if case .use(let v) = a { return v }; return nil }

    @Test func concurrentScrapesShareOneRequestToTheLoop() {
        var s = Shared(windowNanoseconds: 5 * Self.second)
        let t0: UInt64 = 100 * Self.second
        let first = s.request(now: t0, 1)
        #expect(isFetch(first))
        // 20 more arrive while the loop has not answered: none asks it again.
        for w in 2...21 {
            let a = s.request(now: t0 + UInt64(w) * 1_000_000, w)
            #expect(isWait(a))
        }
        let answered = s.fetched("snap-1", now: t0 + 30_000_000)
        #expect(answered == Array(1...21), "the fetcher and every waiter, in order")
        #expect(s.fetches == 1 && s.reuses == 20)
    }

    @Test func laterScrapesWithinTheWindowReuseTheSnapshotAndTheNextWindowAsksAgain() {
        var s = Shared(windowNanoseconds: 5 * Self.second)
        let t0: UInt64 = 10 * Self.second
        let first = s.request(now: t0, 1)
        #expect(isFetch(first))
        _ = s.fetched("snap-1", now: t0)
        let inWindow = s.request(now: t0 + 1 * Self.second, 2)
        #expect(used(inWindow) == "snap-1")
        let atEdge = s.request(now: t0 + 5 * Self.second - 1, 3)
        #expect(used(atEdge) == "snap-1", "just inside the window")
        let pastWindow = s.request(now: t0 + 5 * Self.second, 4)
        #expect(isFetch(pastWindow), "the window is over: ask the loop")
        #expect(s.age(now: t0 + 5 * Self.second) == nil, "the stale one is not kept meanwhile")
        let answered = s.fetched("snap-2", now: t0 + 6 * Self.second)
        #expect(answered == [4])
        let nextWindow = s.request(now: t0 + 7 * Self.second, 5)
        #expect(used(nextWindow) == "snap-2")
        #expect(s.fetches == 2 && s.reuses == 3)
    }

    @Test func anAnswerlessLoopIsNotKeptAndTheNextScrapeAsksAgain() {
        var s = Shared(windowNanoseconds: 5 * Self.second)
        let first = s.request(now: Self.second, 1)
        #expect(isFetch(first))
        let second = s.request(now: Self.second, 2)
        #expect(isWait(second))
        let told = s.fetched(nil, now: Self.second)
        #expect(told == [1, 2], "both told there is no snapshot")
        let retry = s.request(now: Self.second + 1, 3)
        #expect(isFetch(retry), "nothing kept: asks again")
    }

    @Test func expiryDropsTheSnapshotOnlyOnceItsWindowIsOver() {
        var s = Shared(windowNanoseconds: 5 * Self.second)
        let none = s.expire(now: 0)
        #expect(!none, "nothing kept")
        _ = s.request(now: 10 * Self.second, 1)
        _ = s.fetched("snap", now: 10 * Self.second)
        let early = s.expire(now: 14 * Self.second)
        #expect(!early)
        #expect(s.age(now: 14 * Self.second) == 4 * Self.second)
        let due = s.expire(now: 15 * Self.second)
        #expect(due)
        #expect(s.age(now: 15 * Self.second) == nil)
        let again = s.expire(now: 16 * Self.second)
        #expect(!again, "already dropped")
    }

    @Test func aBurstOfScrapesOverAMinuteAsksTheLoopOncePerWindow() {
        // 50 scrapers, each every 200 ms for 60 s, the loop answering after 20 ms.
        var s = Shared(windowNanoseconds: 5 * Self.second)
        var pendingSince: UInt64?
        var served = 0
        for tick in 0..<300 {
            let now = UInt64(tick) * 200_000_000
            if let since = pendingSince, now >= since + 20_000_000 {
                served += s.fetched("snap", now: since + 20_000_000).count
                pendingSince = nil
            }
            for w in 0..<50 {
                switch s.request(now: now + UInt64(w) * 1000, w) {
                case .fetch: pendingSince = now
                case .use: served += 1
                case .wait: break
                }
            }
        }
        #expect(s.fetches == 12, "60 s / 5 s")
        #expect(served >= 300 * 50 - 50, "every scrape but the last tick's waiters was served")
    }
}

@Suite("Concurrency limit: refuse past the cap, count refusals")
struct ConcurrencyLimitTests {
    @Test func admitsUpToTheLimitThenRefusesAndCounts() {
        var c = ConcurrencyLimit(limit: 4)
        let first = (0..<4).map { _ in c.enter() }
        let beyond = (0..<20).map { _ in c.enter() }
        #expect(first.allSatisfy { $0 } && beyond.allSatisfy { !$0 })
        #expect(c.inUse == 4 && c.refused == 20 && c.admitted == 4)
        c.leave()
        let retaken = c.enter(), refused = c.enter()
        #expect(retaken, "a place given back is taken again")
        #expect(!refused)
        #expect(c.inUse == 4 && c.refused == 21 && c.admitted == 5)
        for _ in 0..<4 { c.leave() }
        #expect(c.inUse == 0)
    }
}
