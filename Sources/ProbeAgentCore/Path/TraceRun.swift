/// One trace of one target, as a pure state machine: it takes `now` and the probes' results
/// and says which TTL-limited probes to send next (``TracePlan`` has the algorithm). The driver
/// (`agentctl trace` now, the daemon's path monitors later) sends them through the engine with
/// ``options(for:)`` — one constant flow for the whole run, Paris-traceroute style, so a
/// per-flow load balancer sends every TTL down the same path and does not invent hops.
///
/// Every probe sent gets exactly one result from the engine (a reply, an ICMP error, a
/// timeout), so a run always finishes: after `plan.rounds` rounds, each of which ends once
/// its last probe has a result.
public struct TraceRun: Sendable {
    public let plan: TracePlan
    /// The target's own address: an echo reply or a TCP answer names no router.
    public let target: IPAddress
    /// What every probe carries besides its TTL: the monitor's packet options with the run's flow.
    public let baseOptions: PacketOptions
    /// Per TTL (index ttl - 1).
    public private(set) var hops: [HopTally]
    /// The smallest TTL at which the path ended: the target answered, or a router said it
    /// cannot get there (unreachable, fragmentation needed). nil while unknown.
    public private(set) var reach: Int?
    public private(set) var isFinished = false
    /// The farthest TTL anything answered at (0: none yet).
    private var farthestAnswer = 0
    private var round = 0
    private var nextTTL = 1
    private var inFlight: Set<UInt32> = []
    private var roundStartedAt: UInt64
    /// When the next round may start (set when a round ends).
    private var nextRoundAt: UInt64?

    /// - Parameters:
    ///   - flow: the flow identifier every probe of the run carries.
    ///   - options: packet options besides TTL and flow (size, TOS, DF).
    public init(target: IPAddress, plan: TracePlan, flow: UInt16, options: PacketOptions = .none, now: UInt64) {
        self.target = target
        self.plan = plan
        var o = options
        o.flow = flow
        o.ttl = 0
        baseOptions = o
        hops = (1...plan.maxHops).map { HopTally(ttl: $0) }
        roundStartedAt = now
    }

    /// The packet options of one of this run's probes.
    public func options(for probe: TraceProbe) -> PacketOptions {
        var o = baseOptions
        o.ttl = probe.ttl
        return o
    }

    /// The probes to send now (none while a round waits for its results or the next round's
    /// start). Call again after results arrive and at ``nextWake(now:)``.
    public mutating func probesDue(now: UInt64) -> [TraceProbe] {
        guard !isFinished else { return [] }
        if let at = nextRoundAt {
            guard now >= at else { return [] }
            nextRoundAt = nil
            round += 1
            nextTTL = 1
            roundStartedAt = now
        }
        var out: [TraceProbe] = []
        while inFlight.count < plan.window && nextTTL <= limit {
            let p = TraceProbe(id: UInt32(round) << 8 | UInt32(nextTTL), ttl: UInt8(nextTTL))
            inFlight.insert(p.id)
            hops[nextTTL - 1].sent += 1
            out.append(p)
            nextTTL += 1
        }
        endRoundIfDone()
        return out
    }

    /// When to call ``probesDue(now:)`` again without a result arriving first: the next
    /// round's start; nil while results are awaited (each comes by its timeout) or when done.
    public func nextWake() -> UInt64? { isFinished ? nil : nextRoundAt }

    /// Counts the result of probe `id` (results of probes it did not send, or already counted,
    /// are ignored).
    ///
    /// - Parameters:
    ///   - reporter: who answered: the router of an ICMP error; nil for an echo reply or a TCP
    ///     answer (the target itself).
    ///   - mtu: the MTU of a fragmentation needed.
    public mutating func record(_ id: UInt32, outcome: ProbeOutcome, reporter: IPAddress?, rttNanoseconds: UInt64,
                                mtu: UInt32? = nil, now: UInt64) {
        guard inFlight.remove(id) != nil else { return }
        let ttl = Int(id & 0xff)
        var hop = hops[ttl - 1]
        switch outcome {
        case .ttlExceeded:
            hop.answer(from: reporter, rtt: rttNanoseconds, outcome: outcome)
            farthestAnswer = max(farthestAnswer, ttl)
        case .ok, .refused, .unreachable, .fragmentationNeeded:
            hop.answer(from: reporter ?? target, rtt: rttNanoseconds, outcome: outcome)
            if outcome == .fragmentationNeeded { hop.mtu = mtu }
            reach = min(reach ?? ttl, ttl)
            farthestAnswer = max(farthestAnswer, ttl)
        case .timeout, .error, .unresolved:
            hop.lost += 1
        }
        hops[ttl - 1] = hop
        endRoundIfDone(now: now)
    }

    /// The hops as a report: TTL 1 up to where the path ended (or the farthest answer).
    public var reportedHops: ArraySlice<HopTally> { hops[0..<(reach ?? farthestAnswer)] }

    /// How far this round may go: not past the path's end, nor `gapLimit` past the farthest answer.
    private var limit: Int { min(reach ?? plan.maxHops, farthestAnswer + plan.gapLimit, plan.maxHops) }

    private mutating func endRoundIfDone(now: UInt64? = nil) {
        guard inFlight.isEmpty, nextTTL > limit, nextRoundAt == nil else { return }
        if round + 1 >= plan.rounds {
            isFinished = true
        } else {
            nextRoundAt = max(roundStartedAt + plan.roundInterval, now ?? roundStartedAt)
        }
    }
}

/// What one TTL of a trace saw over its rounds.
public struct HopTally: Sendable, Hashable {
    public let ttl: Int
    public internal(set) var sent = 0
    /// Probes that timed out or failed locally (`*`).
    public internal(set) var lost = 0
    /// Who answered, in the order first seen (more than one: the path changed, or ECMP without
    /// a constant flow), with how many answers each.
    public internal(set) var hosts: [(address: IPAddress, answers: Int)] = []
    /// Round-trip times of the answers, ns.
    public internal(set) var rtts: [UInt64] = []
    /// How the latest answer ended the probe (ttl_exceeded at a router; ok / refused at the
    /// target; unreachable / fragmentation_needed where the path ends).
    public internal(set) var lastOutcome: ProbeOutcome?
    public internal(set) var mtu: UInt32?

    init(ttl: Int) { self.ttl = ttl }

    public var received: Int { rtts.count }
    /// Probes with an outcome, answered or lost (`sent` also counts those still in flight).
    public var done: Int { lost + received }
    /// Lost / done, in percent; nil before any result.
    public var lossPercent: Double? { done == 0 ? nil : Double(lost) * 100 / Double(done) }
    /// Min, mean and max RTT of the answers, ns; nil before any answer.
    public var rttSummary: (min: UInt64, avg: UInt64, max: UInt64)? {
        guard let lo = rtts.min(), let hi = rtts.max() else { return nil }
        return (lo, rtts.reduce(0, +) / UInt64(rtts.count), hi)
    }

    mutating func answer(from host: IPAddress?, rtt: UInt64, outcome: ProbeOutcome) {
        rtts.append(rtt)
        lastOutcome = outcome
        guard let host else { return }
        if let i = hosts.firstIndex(where: { $0.address == host }) { hosts[i].answers += 1 } else { hosts.append((host, 1)) }
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.ttl == b.ttl && a.sent == b.sent && a.lost == b.lost && a.rtts == b.rtts && a.lastOutcome == b.lastOutcome
            && a.mtu == b.mtu && a.hosts.map(\.address) == b.hosts.map(\.address) && a.hosts.map(\.answers) == b.hosts.map(\.answers)
    }

    public func hash(into h: inout Hasher) {
        h.combine(ttl)
        h.combine(sent)
        h.combine(rtts)
    }
}
