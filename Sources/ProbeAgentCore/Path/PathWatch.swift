/// Path monitoring for every target of the monitors with `path:`, as a pure state machine
/// the probing loop drives: it takes `now` and the trace probes' results, and gives the
/// TTL-limited probes to send (``poll(now:address:)``) and the path changes (``record(_:now:wallMilliseconds:)``).
///
/// Per target a ``PathTracker`` starts a ``TraceRun`` every `every` (first at a phase from the
/// target's identity, so the traces of 10k targets spread over `every`). Its probes wait in
/// a queue and go out paced by a token bucket of `path_probes_per_second`; the loop asks for
/// them only when no echo probe waits for the engine, and puts them after the turn's echo
/// probes, so tracing never delays the echo probes. New traces start only while that queue
/// holds less than a second's budget: with more traces than the budget carries, each starts late.
///
/// A trace probe's cookie has bit 63 set (``cookieFlag``; the schedule's cookies never do):
/// bits 32-62 the tracker's slot, 16-31 the tracker's generation (bumped at every trace start,
/// so a result of a trace a reload replaced is stale), 0-15 the ``TraceProbe`` id.
public struct PathWatch: Sendable {
    public static let cookieFlag: UInt64 = 1 << 63

    /// By slot; nil: a free slot.
    public private(set) var trackers: [PathTracker?] = []
    private var slots: [PathKey: Int] = [:]
    private var freeSlots: [Int] = []
    /// The generation the next trace gets: one counter for all, so a trace in a reused slot
    /// does not take the results of the one before it.
    private var nextGeneration: UInt16 = 0
    private var due = DueHeap()
    /// Slots with a trace under way; those with results since the last poll.
    private var active: Set<Int> = []
    private var touched: Set<Int> = []
    /// The earliest round start among the active runs (a lower bound: a scan recomputes it).
    private var runWake: UInt64 = .max
    /// Probes the runs asked for, waiting for the budget: `waiting[waitingHead...]`.
    private var waiting: [ProbeRequest] = []
    private var waitingHead = 0
    public private(set) var probesPerSecond: Int
    private var tokens: Double = 0
    private var refilledAt: UInt64
    /// Trace probes handed to the loop, and results that belonged to no trace under way.
    public private(set) var probesSent: UInt64 = 0
    public private(set) var staleResults: UInt64 = 0

    public init(probesPerSecond: Int, now: UInt64) {
        self.probesPerSecond = max(1, probesPerSecond)
        refilledAt = now
    }

    public var isEmpty: Bool { slots.isEmpty }
    public var count: Int { slots.count }
    public var tracing: Int { active.count }
    public var probesWaiting: Int { waiting.count - waitingHead }

    public func tracker(_ key: PathKey) -> PathTracker? { slots[key].flatMap { trackers[$0] } }

    public static func isTraceCookie(_ cookie: UInt64) -> Bool { cookie & cookieFlag != 0 }

    /// Takes the monitors with `path:` of `config` (as the schedule runs it): trackers of
    /// targets still watched keep their path, counters and next trace (a changed `path:`
    /// applies from their next trace); those of targets gone are dropped with their trace.
    public mutating func apply(_ config: AgentConfig, now: UInt64) {
        probesPerSecond = max(1, config.scheduler.pathProbesPerSecond)
        var wanted: [PathKey: (index: Int, probing: PathProbing)] = [:]
        for m in config.monitors where m.probeProtocol != .tcpConnect {
            guard let path = m.path else { continue }
            let probing = PathProbing(m, path: path)
            for (i, t) in m.targets.enumerated() { wanted[PathKey(monitorID: m.id, target: t)] = (i, probing) }
        }
        var dropped: Set<Int> = []
        for (key, slot) in slots where wanted[key] == nil {
            dropped.insert(slot)
            slots[key] = nil
            trackers[slot] = nil
            freeSlots.append(slot)
            active.remove(slot)
            touched.remove(slot)
        }
        if !dropped.isEmpty {
            waiting = waiting[waitingHead...].filter { !dropped.contains(Self.slot(of: $0.cookie)) }
            waitingHead = 0
        }
        for (key, want) in wanted.sorted(by: { $0.key < $1.key }) {
            if let slot = slots[key] {
                trackers[slot]!.targetIndex = want.index
                trackers[slot]!.probing = want.probing
                continue
            }
            let tracker = PathTracker(key: key, targetIndex: want.index, probing: want.probing, now: now)
            let slot = freeSlots.popLast() ?? trackers.count
            if slot == trackers.count { trackers.append(tracker) } else { trackers[slot] = tracker }
            slots[key] = slot
            due.push(tracker.nextTraceAt, slot)
        }
    }

    /// Starts the traces due by `now` and returns the trace probes the budget lets go now.
    ///
    /// - Parameter address: the address to trace for a tracker's target now (nil: a name
    ///   not resolved yet; its trace is skipped until the next `every`).
    public mutating func poll(now: UInt64, address: (PathTracker) -> IPAddress?) -> [ProbeRequest] {
        while let top = due.first, top.at <= now, probesWaiting < probesPerSecond {
            _ = due.pop()
            guard let t = trackers[top.slot], t.nextTraceAt == top.at, t.run == nil else { continue }
            guard let target = address(t) else {
                scheduleNext(top.slot, now: now)
                continue
            }
            nextGeneration &+= 1
            trackers[top.slot]!.generation = nextGeneration
            trackers[top.slot]!.run = TraceRun(target: target, plan: t.probing.plan, flow: t.flow, options: t.probing.options, now: now)
            active.insert(top.slot)
            touched.insert(top.slot)
        }
        var check = touched
        if now >= runWake {
            check = active
            runWake = .max
        }
        touched = []
        for slot in check where trackers[slot]?.run != nil { collect(slot, now: now) }
        return release(now: now)
    }

    /// When ``poll(now:address:)`` has something to do without a result arriving first: the
    /// next trace start, the next round of a trace, or more of the budget for waiting probes
    /// (a token's worth, but not sooner than 10 ms: probes over the budget go out in batches,
    /// not one loop turn each).
    public func nextWake(now: UInt64) -> UInt64? {
        var at = runWake
        if let d = due.first?.at, probesWaiting < probesPerSecond { at = min(at, d) }
        if probesWaiting > 0 { at = min(at, now + max(10_000_000, 1_000_000_000 / UInt64(probesPerSecond))) }
        return at == .max ? nil : at
    }

    /// The result of a trace probe (a cookie with ``cookieFlag``): counted in its trace; when
    /// that ends the trace, returns which target's, and the change of path it shows, if any.
    public mutating func record(_ r: ProbeResult, now: UInt64, wallMilliseconds: Int64) -> TraceEnd? {
        let slot = Self.slot(of: r.cookie)
        let generation = UInt16(truncatingIfNeeded: r.cookie >> 16)
        guard slot < trackers.count, let t = trackers[slot], t.generation == generation, t.run != nil else {
            staleResults += 1
            return nil
        }
        trackers[slot]!.run!.record(UInt32(r.cookie & 0xffff), outcome: r.outcome, reporter: r.reporter,
                                    rttNanoseconds: r.rttNanoseconds, mtu: r.mtu == 0 ? nil : r.mtu, now: now)
        touched.insert(slot)
        guard trackers[slot]!.run!.isFinished else { return nil }
        return TraceEnd(key: t.key, change: finish(slot, now: now, wallMilliseconds: wallMilliseconds))
    }

    // MARK: - Inside

    private static func slot(of cookie: UInt64) -> Int { Int((cookie >> 32) & 0x7fff_ffff) }

    /// Queues what the trace in `slot` wants sent now.
    private mutating func collect(_ slot: Int, now: UInt64) {
        let probes = trackers[slot]!.run!.probesDue(now: now)
        let t = trackers[slot]!, run = t.run!
        let ms = UInt32(clamping: max(1, run.plan.timeout / 1_000_000))
        for p in probes {
            let cookie = Self.cookieFlag | UInt64(slot) << 32 | UInt64(t.generation) << 16 | UInt64(p.id & 0xffff)
            waiting.append(ProbeRequest(cookie: cookie, address: run.target, kind: t.probing.kind, port: t.probing.port,
                                        timeoutMilliseconds: ms, options: run.options(for: p)))
        }
        if let wake = run.nextWake() { runWake = min(runWake, wake) }
    }

    /// The waiting probes the token bucket lets go by `now` (it holds at most a tenth of a
    /// second's budget, so a quiet spell does not save up a burst).
    private mutating func release(now: UInt64) -> [ProbeRequest] {
        let rate = Double(probesPerSecond)
        tokens = min(max(1, rate / 10), tokens + Double(now &- refilledAt) * rate / 1e9)
        refilledAt = now
        let n = min(probesWaiting, Int(tokens))
        guard n > 0 else { return [] }
        tokens -= Double(n)
        let out = Array(waiting[waitingHead..<waitingHead + n])
        waitingHead += n
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
        probesSent += UInt64(n)
        return out
    }

    /// The trace in `slot` has ended: its hops become the path (unless nothing answered: the
    /// last path stays, and the echo probes report the outage), compared with what is known.
    private mutating func finish(_ slot: Int, now: UInt64, wallMilliseconds: Int64) -> PathChange? {
        let run = trackers[slot]!.run!
        trackers[slot]!.run = nil
        active.remove(slot)
        touched.remove(slot)
        scheduleNext(slot, now: now)
        let hops = run.reportedHops.map(PathHop.init)
        trackers[slot]!.traces += 1
        trackers[slot]!.completedAt = wallMilliseconds
        guard hops.contains(where: { !$0.routers.isEmpty }) else { return nil }
        let before = trackers[slot]!.hops
        trackers[slot]!.hops = hops
        guard trackers[slot]!.known.take(hops), let before else { return nil }
        trackers[slot]!.changes += 1
        trackers[slot]!.changedAt = wallMilliseconds
        trackers[slot]!.previous = before
        return PathChange(key: trackers[slot]!.key, from: before, to: hops, wallMilliseconds: wallMilliseconds)
    }

    /// The next trace: `every` after the one due, never in the past (a late trace does not
    /// make the next ones pile up).
    private mutating func scheduleNext(_ slot: Int, now: UInt64) {
        let every = trackers[slot]!.probing.every
        var next = trackers[slot]!.nextTraceAt + every
        if next <= now { next += ((now - next) / every + 1) * every }
        trackers[slot]!.nextTraceAt = next
        due.push(next, slot)
    }
}

/// A trace has ended: whose, and the change of path it showed.
public struct TraceEnd: Sendable, Equatable {
    public var key: PathKey
    public var change: PathChange?
}

/// A target's path changed: the path before and the new one.
public struct PathChange: Sendable, Equatable {
    public var key: PathKey
    public var from: [PathHop]
    public var to: [PathHop]
    public var wallMilliseconds: Int64
}
