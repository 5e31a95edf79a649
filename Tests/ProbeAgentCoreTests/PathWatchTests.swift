import Testing
@testable import ProbeAgentCore

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}

/// Path monitors on a manual clock against a simulated chain of routers: traces start spread
/// over `every`, paths are compared by ``KnownPath``'s rule, trace probes stay within their
/// budget and out of the echo probes' counters, a reload drops the trackers of targets gone.
@Suite("Path monitors: trackers, change rule, budget, reload")
struct PathWatchTests {
    static let ms: UInt64 = 1_000_000, s: UInt64 = 1_000_000_000
    static func ip(_ t: String) -> IPAddress { IPAddress(t)! }
    static let r1 = ip("198.18.20.2"), r2 = ip("198.18.21.2"), r2b = ip("198.18.23.2"), target = ip("198.18.22.2")

    static func hop(_ ttl: Int, _ routers: [IPAddress], lost: Int = 0) -> PathHop {
        PathHop(ttl: ttl, routers: routers, sent: 3, lost: lost)
    }

    /// The network: per TTL who answers (nil: nobody, a timeout); past the list, the target.
    struct Network {
        var routers: [IPAddress?] = [PathWatchTests.r1, PathWatchTests.r2]
        /// A per-trace choice at TTL 2, for ECMP alternation (a function of the run's flow and trace count).
        var answer: (ProbeRequest) -> ProbeResult? = { _ in nil }

        func result(_ r: ProbeRequest) -> ProbeResult {
            if let a = answer(r) { return a }
            let ttl = Int(r.options.ttl)
            if ttl == 0 || ttl > routers.count { return ProbeResult(cookie: r.cookie, status: .ok, rttNanoseconds: 2 * ms) }
            guard let router = routers[ttl - 1] else { return ProbeResult(cookie: r.cookie, status: .timeout) }
            return ProbeResult(cookie: r.cookie, status: .unreachable, rttNanoseconds: UInt64(ttl) * ms, icmpType: 11, reporter: router)
        }
    }

    static func config(targets: [String] = ["198.18.22.2"], every: Duration = .seconds(10), rate: Int = 1000,
                       cadence: Duration = .seconds(1)) -> AgentConfig {
        var m = MonitorConfig(id: "p", probeProtocol: .icmp, targets: targets, cadence: cadence, timeout: .milliseconds(500))
        m.path = PathConfig(maxHops: 8, every: every)
        var c = AgentConfig()
        c.monitors = [m]
        c.scheduler.pathProbesPerSecond = rate
        return c
    }

    /// Turns of the loop every `step` from `from` to `to`; every probe is answered by `net` at
    /// the next turn (the last turn's at the end). Returns the notices and how many probes went out per kind.
    static func run(_ loop: inout ProbeLoop, net: Network, from: UInt64, to: UInt64, step: UInt64 = 10 * ms)
        -> (notices: [LoopNotice], echo: Int, trace: Int)
    {
        var notices: [LoopNotice] = [], echo = 0, trace = 0, inFlight: [ProbeRequest] = []
        var now = from
        while now < to {
            loop.completed(inFlight.map(net.result), wallMilliseconds: Int64(now / ms), now: now)
            inFlight = []
            loop.poll(now: now, wallMilliseconds: Int64(now / ms))
            for p in loop.pendingProbes {
                if PathWatch.isTraceCookie(p.cookie) { trace += 1 } else { echo += 1 }
            }
            inFlight = Array(loop.pendingProbes)
            loop.submitted(inFlight.count)
            notices += loop.takeNotices()
            now += step
        }
        loop.completed(inFlight.map(net.result), wallMilliseconds: Int64(now / ms), now: now) // none left unanswered
        notices += loop.takeNotices()
        return (notices, echo, trace)
    }

    static func changes(_ notices: [LoopNotice]) -> [PathChange] {
        notices.compactMap { if case .pathChanged(let c) = $0 { c } else { nil } }
    }

    // MARK: - The change rule

    /// Feeds the traces in order; returns which were a change.
    static func changes(_ traces: [[PathHop]], into known: inout KnownPath) -> [Bool] {
        traces.map { known.take($0) }
    }

    @Test func aNewRouterAtAHopIsAChangeAndTheSamePathIsNot() {
        var known = KnownPath()
        let path = [Self.hop(1, [Self.r1]), Self.hop(2, [Self.r2]), Self.hop(3, [Self.target])]
        let other = [Self.hop(1, [Self.r1]), Self.hop(2, [Self.r2b]), Self.hop(3, [Self.target])]
        let shorter = [Self.hop(1, [Self.r1]), Self.hop(2, [Self.target])]
        // the first path is no change; the same again neither; a new router is; changing back
        // is one too; the target at another TTL (a shorter path) is.
        #expect(Self.changes([path, path, other, path, shorter], into: &known) == [false, false, true, true, true])
    }

    @Test func aTraceThatStraddlesTheChangeShowsTheNewRouterAndAChangeBackIsSeen() {
        var known = KnownPath()
        let old = [Self.hop(1, [Self.r1]), Self.hop(2, [Self.r2]), Self.hop(3, [Self.target])]
        let straddling = [Self.hop(1, [Self.r1]), Self.hop(2, [Self.r2b, Self.r2]), Self.hop(3, [Self.target])]
        let new = [Self.hop(1, [Self.r1]), Self.hop(2, [Self.r2b]), Self.hop(3, [Self.target])]
        #expect(Self.changes([old, straddling, new, old], into: &known) == [false, true, false, true])
        // The hop lists the router that first answered last first.
        var run = TraceRun(target: Self.target, plan: TracePlan(maxHops: 3, rounds: 2, window: 3), flow: 9, now: 0)
        for (round, second) in [Self.r2, Self.r2b].enumerated() {
            for p in run.probesDue(now: UInt64(round) * Self.s) {
                let router = [Self.r1, second][safe: Int(p.ttl) - 1]
                run.record(p.id, outcome: router == nil ? .ok : .ttlExceeded, reporter: router, rttNanoseconds: Self.ms,
                           now: UInt64(round) * Self.s)
            }
        }
        #expect(PathHop(run.hops[1]).routers == [Self.r2b, Self.r2])
    }

    @Test func aSilentHopIsNoise() {
        var known = KnownPath()
        let traces = [
            [Self.hop(1, [Self.r1]), Self.hop(2, [Self.r2]), Self.hop(3, [Self.target])],
            [Self.hop(1, [Self.r1]), Self.hop(2, [], lost: 3), Self.hop(3, [Self.target])],
            [Self.hop(1, [], lost: 3), Self.hop(2, [Self.r2]), Self.hop(3, [Self.target])],
            [Self.hop(1, [Self.r1]), Self.hop(2, [Self.r2])], // stops short: says nothing of the rest
        ]
        #expect(Self.changes(traces, into: &known) == [false, false, false, false])
    }

    @Test func ecmpAlternatingOverRoutersSeenBeforeIsNoChange() {
        var known = KnownPath()
        let both = [Self.hop(1, [Self.r1]), Self.hop(2, [Self.r2, Self.r2b]), Self.hop(3, [Self.target])]
        let alternating = (0..<10).map { i in
            [Self.hop(1, [Self.r1]), Self.hop(2, [i % 2 == 0 ? Self.r2b : Self.r2]), Self.hop(3, [Self.target])]
        }
        #expect(Self.changes([both] + alternating, into: &known) == Array(repeating: false, count: 11))
        #expect(known.routers[1] == [Self.r2, Self.r2b])
    }

    // MARK: - Trackers in the loop

    @Test func aRouteChangeIsOneNoticeWithBothPathsWithinOneEvery() throws {
        var loop = ProbeLoop(config: Self.config(), now: 0, shipping: true, statusInterval: 100 * Self.s)
        var net = Network()
        let first = Self.run(&loop, net: net, from: 0, to: 15 * Self.s)
        #expect(Self.changes(first.notices).isEmpty)
        let key = PathKey(monitorID: "p", target: "198.18.22.2")
        let t = try #require(loop.paths.tracker(key))
        #expect(t.traces >= 1)
        #expect(t.hops?.map(\.routers) == [[Self.r1], [Self.r2], [Self.target]])
        #expect(t.hops?.map(\.lossRatio) == [0, 0, 0])
        #expect(t.hops?[1].minRTT == 2 * Self.ms)
        var switchAt = 15 * Self.s // between two traces, so one trace sees only the new path
        while loop.paths.tracker(key)?.run != nil && switchAt < 30 * Self.s {
            _ = Self.run(&loop, net: net, from: switchAt, to: switchAt + 1)
            switchAt += 10 * Self.ms
        }
        net.routers = [Self.r1, Self.r2b]
        let second = Self.run(&loop, net: net, from: switchAt, to: switchAt + 10 * Self.s)
        let changes = Self.changes(second.notices)
        try #require(changes.count == 1, "one change within one every (10 s)")
        #expect(changes[0].key == key)
        #expect(PathTracker.text(changes[0].from) == "198.18.20.2 → 198.18.21.2 → 198.18.22.2")
        #expect(PathTracker.text(changes[0].to) == "198.18.20.2 → 198.18.23.2 → 198.18.22.2")
        let third = Self.run(&loop, net: net, from: switchAt + 10 * Self.s, to: switchAt + 45 * Self.s)
        #expect(Self.changes(third.notices).isEmpty, "the new path stays")
        #expect(loop.paths.tracker(key)?.changes == 1)
    }

    @Test func silentHopsAndTheirLossAreKeptWithoutAChange() throws {
        var loop = ProbeLoop(config: Self.config(), now: 0, shipping: false, statusInterval: 100 * Self.s)
        let first = Self.run(&loop, net: Network(), from: 0, to: 12 * Self.s)
        let quiet = Self.run(&loop, net: Network(routers: [Self.r1, nil]), from: 12 * Self.s, to: 40 * Self.s)
        #expect(Self.changes(first.notices + quiet.notices).isEmpty)
        let hops = try #require(loop.paths.tracker(PathKey(monitorID: "p", target: "198.18.22.2"))?.hops)
        #expect(hops.map(\.routerText) == ["198.18.20.2", "*", "198.18.22.2"])
        #expect(hops[1].lossRatio == 1)
    }

    @Test func traceProbesAreNotEchoResults() throws {
        var loop = ProbeLoop(config: Self.config(), now: 0, shipping: true, statusInterval: 100 * Self.s)
        let r = Self.run(&loop, net: Network(), from: 0, to: 20 * Self.s)
        #expect(r.trace > 0)
        let c = try #require(loop.ledger.counters.first)
        #expect(Int(c.sent) == r.echo, "only echo probes count")
        #expect(c.timeouts == 0 && c.errors == 0 && c.ok == c.sent, "no ttl_exceeded in the echo counters")
        #expect(loop.takeResults().filter { $0.path == nil }.count == Int(c.sent), "no trace result goes to the store as an echo result")
        #expect(loop.staleResults == 0 && loop.paths.staleResults == 0)
    }

    @Test func tracesSpreadOverEveryAndStayWithinTheBudget() {
        let targets = (0..<200).map { "198.18.\(30 + $0 / 250).\($0 % 250 + 1)" }
        var loop = ProbeLoop(config: Self.config(targets: targets, every: .seconds(10), rate: 100), now: 0, shipping: false,
                             statusInterval: 100 * Self.s)
        let starts = loop.paths.trackers.compactMap { $0?.nextTraceAt }
        #expect(starts.allSatisfy { $0 < 10 * Self.s })
        #expect(Set(starts.map { $0 / Self.s }).count == 10, "first traces fall in every second of `every`")
        var perSecond: [Int] = []
        var now: UInt64 = 0
        var inFlight: [ProbeRequest] = []
        let net = Network()
        for second in 0..<30 {
            var traced = 0
            while now < UInt64(second + 1) * Self.s {
                loop.completed(inFlight.map(net.result), wallMilliseconds: 0, now: now)
                loop.poll(now: now, wallMilliseconds: 0)
                inFlight = Array(loop.pendingProbes)
                traced += inFlight.filter { PathWatch.isTraceCookie($0.cookie) }.count
                loop.submitted(inFlight.count)
                now += 5 * Self.ms
            }
            perSecond.append(traced)
        }
        #expect(perSecond.allSatisfy { $0 <= 100 + 10 }, "the budget (100/s, a tenth of it as a burst): \(perSecond)")
        #expect(perSecond.reduce(0, +) > 2000, "the budget is used: \(perSecond)")
    }

    @Test func traceProbesWaitWhileEchoProbesWaitForTheEngine() {
        var loop = ProbeLoop(config: Self.config(cadence: .seconds(1)), now: 0, shipping: false, statusInterval: 100 * Self.s)
        var now: UInt64 = 0
        var sawTrace = false
        // An engine that takes nothing: the echo probe waits, so no trace probe joins it.
        while now < 12 * Self.s {
            loop.poll(now: now, wallMilliseconds: 0)
            sawTrace = sawTrace || loop.pendingProbes.contains { PathWatch.isTraceCookie($0.cookie) }
            now += 10 * Self.ms
        }
        #expect(loop.pendingCount >= 1)
        #expect(!sawTrace)
        // Once it takes them, echo probes go first in the queue, traces after.
        loop.submitted(loop.pendingCount)
        now += 10 * Self.s
        loop.poll(now: now, wallMilliseconds: 0)
        let kinds = loop.pendingProbes.map { PathWatch.isTraceCookie($0.cookie) }
        #expect(kinds.contains(true))
        #expect(kinds == kinds.sorted { !$0 && $1 }, "echo first: \(kinds)")
    }

    @Test func aTargetRemovedByReloadDropsItsTrackerAndItsTrace() throws {
        let both = Self.config(targets: ["198.18.22.2", "198.18.22.3"])
        var loop = ProbeLoop(config: both, now: 0, shipping: false, statusInterval: 100 * Self.s)
        var inFlight: [ProbeRequest] = []
        var now: UInt64 = 0
        while !inFlight.contains(where: { PathWatch.isTraceCookie($0.cookie) && $0.address == Self.ip("198.18.22.3") }) && now < 20 * Self.s {
            loop.poll(now: now, wallMilliseconds: 0)
            inFlight = Array(loop.pendingProbes)
            loop.submitted(inFlight.count)
            now += 10 * Self.ms
        }
        #expect(loop.paths.count == 2)
        _ = loop.reload(PreparedConfig(Self.config(targets: ["198.18.22.2"]), running: loop.config), reason: "test", now: now, at: .now)
        #expect(loop.paths.count == 1)
        #expect(loop.paths.tracker(PathKey(monitorID: "p", target: "198.18.22.3")) == nil)
        loop.completed(inFlight.map(Network().result), wallMilliseconds: 0, now: now)
        #expect(loop.paths.staleResults > 0, "the removed target's trace results belong to nobody")
        _ = loop.reload(PreparedConfig(AgentConfig(), running: loop.config), reason: "test", now: now, at: .now)
        #expect(loop.paths.isEmpty)
    }
}
