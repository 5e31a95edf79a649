/// How one probe ended, as the agent counts it.
public enum ProbeOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    case ok, timeout, refused, unreachable, error
    /// The target is a hostname with no address yet: nothing was sent.
    case unresolved
    /// A router on the way said the probe's TTL / hop limit ran out (ICMP time exceeded).
    case ttlExceeded = "ttl_exceeded"
    /// The probe was too big for a link on the way and could not be fragmented (ICMP
    /// fragmentation needed / packet too big, with the link's MTU), or for this host's own.
    case fragmentationNeeded = "fragmentation_needed"
    // New cases go last: the spill log stores a case's index (ResultRecord+Codec).

    public var isFailure: Bool { self != .ok }
}

/// Counters and latest result of one (monitor, target), with its names: the view the status
/// file and the admin API show. The ledger itself stores ``TargetCounters``.
///
/// Loss is readable from the counters directly: `sent = ok + timeouts + refused + unreachable
/// + ttlExceeded + fragmentationNeeded + errors + unresolved + suppressed`, where `suppressed` counts the failures that happened
/// while a monitor this one depends on was down (they are not outages of this target).
public struct TargetRecord: Sendable, Hashable, Codable {
    public var monitorID: String
    public var target: String
    public var sent: UInt64 = 0
    public var ok: UInt64 = 0
    public var timeouts: UInt64 = 0
    public var refused: UInt64 = 0
    public var unreachable: UInt64 = 0
    public var errors: UInt64 = 0
    public var unresolved: UInt64 = 0
    public var suppressed: UInt64 = 0
    public var ttlExceeded: UInt64 = 0
    public var fragmentationNeeded: UInt64 = 0
    public var lastOutcome: ProbeOutcome?
    /// The ICMP error of the latest probe, when one ended it: type, code, the router, the MTU.
    public var lastICMP: ICMPReport?
    public var lastSuppressed = false
    public var lastRTTNanoseconds: UInt64?
    /// Send time of the latest probe, nanoseconds since the Unix epoch.
    public var lastSentAtNanoseconds: UInt64?

    public init(monitorID: String, target: String) {
        self.monitorID = monitorID
        self.target = target
    }
}

/// A monitor going down (every target failing) or coming back up.
public struct MonitorTransition: Sendable, Hashable {
    public var monitorID: String
    public var isDown: Bool
    public var failingTargets: Int
    public var totalTargets: Int
}

/// Per-target tallies, monitor health and `depends_on` suppression: pure bookkeeping, no clock.
///
/// Counters are indexed by the schedule slot of their entry (``ProbeCookie/slot``): O(1) per
/// result. They belong to the slot's generation: a slot a reload gave to another entry (new
/// generation) starts fresh counters; an unchanged monitor keeps its slots, generations and
/// so its counters. Names are not stored here: the schedule has them once per monitor.
public struct ResultLedger: Sendable {
    /// By slot; entries with `isLive == false` hold nothing.
    public private(set) var counters: [TargetCounters] = []
    public private(set) var health: [String: MonitorHealth] = [:]
    /// Per-slot RTT histograms of replies; nil when `metrics.per_target_histograms` is off.
    public private(set) var rtt: RTTHistograms?
    /// By slot: the ICMP error of the slot's latest probe, only while that probe ended with one
    /// (sparse: a healthy fleet keeps this empty, and a result looks here only when it is not).
    public private(set) var lastICMP: [Int: ICMPReport] = [:]
    private var dependencies: DependencyResolver

    public init(config: AgentConfig) {
        dependencies = DependencyResolver(monitors: config.monitors)
        counters.reserveCapacity(config.targetCount) // exact: no doubling slack at 100k slots
        if config.metrics.perTargetHistograms {
            rtt = RTTHistograms(bounds: config.metrics.rttBuckets)
            rtt?.reserveCapacity(slots: config.targetCount)
        }
        resetHealth(config)
    }

    /// After a reload, in O(changed monitors' targets): new dependency graph, counters of removed
    /// entries dropped, health of changed and added monitors recounted from their live slots,
    /// of retargeted ones updated from their removed entries.
    /// Unchanged monitors keep their counters and health untouched.
    ///
    /// - Parameters:
    ///   - removedSlots: slots of the entries the reload removed or replaced.
    ///   - recount: for each changed or added monitor, the slots of its entries now.
    ///   - retargeted: for each monitor whose target list changed (its kept targets keep their
    ///     counters), the cookies of its removed entries: its health loses their failures and
    ///     takes its new target count, in O(removed) — a 100k-target refresh recounts nothing.
    public mutating func apply(_ config: AgentConfig, removedSlots: [Int], recount: [String: [Int]],
                               retargeted: [String: ArraySlice<ProbeCookie>] = [:]) {
        dependencies = DependencyResolver(monitors: config.monitors)
        for (id, removed) in retargeted {
            let gone = removed.reduce(0) { $0 + (counters(for: $1)?.lastOutcome?.isFailure == true ? 1 : 0) }
            health[id]?.failingTargets -= gone
        }
        for slot in removedSlots where slot < counters.count {
            counters[slot] = TargetCounters()
            rtt?.reset(slot: slot)
            lastICMP[slot] = nil
        }
        let live = Set(config.monitors.map(\.id))
        for id in health.keys where !live.contains(id) { health[id] = nil }
        for m in config.monitors where health[m.id] == nil || recount[m.id] != nil {
            let slots = recount[m.id] ?? []
            let failing = slots.reduce(0) { n, slot in
                guard slot < counters.count, counters[slot].isLive else { return n }
                return n + (counters[slot].lastOutcome?.isFailure == true ? 1 : 0)
            }
            health[m.id] = MonitorHealth(failingTargets: failing, totalTargets: m.targets.count)
        }
        for m in config.monitors where retargeted[m.id] != nil { health[m.id]?.totalTargets = m.targets.count }
    }

    private mutating func resetHealth(_ config: AgentConfig) {
        health = Dictionary(uniqueKeysWithValues: config.monitors.map {
            ($0.id, MonitorHealth(failingTargets: 0, totalTargets: $0.targets.count))
        })
    }

    /// Counts one result.
    ///
    /// - Parameters:
    ///   - cookie: the probe's cookie: its slot and the generation of the entry it belongs to.
    ///   - monitorID: the entry's monitor (health and suppression are per monitor).
    ///   - icmp: the ICMP error that ended the probe, if one did.
    /// - Returns: whether the failure was suppressed, and the monitor's up/down transition if
    ///   this result caused one.
    public mutating func record(_ cookie: ProbeCookie, monitorID: String, outcome: ProbeOutcome,
                                rttNanoseconds: UInt64?, sentAtNanoseconds: UInt64?, icmp: ICMPReport? = nil)
        -> (suppressed: Bool, transition: MonitorTransition?)
    {
        let slot = cookie.slot
        if slot >= counters.count {
            counters.append(contentsOf: repeatElement(TargetCounters(), count: slot + 1 - counters.count))
        }
        var rec = counters[slot]
        if !rec.isLive || rec.generation != cookie.generation {
            rec = TargetCounters(generation: cookie.generation)
            rtt?.reset(slot: slot)
        }
        let wasFailing = rec.lastOutcome?.isFailure ?? false
        let suppressed = outcome.isFailure && dependencies.isSuppressed(monitorID, health: health)
        if suppressed {
            rec.suppressed += 1
        } else {
            switch outcome {
            case .ok: rec.ok += 1
            case .timeout: rec.timeouts += 1
            case .refused: rec.refused += 1
            case .unreachable: rec.unreachable += 1
            case .error: rec.errors += 1
            case .unresolved: rec.unresolved += 1
            case .ttlExceeded: rec.ttlExceeded += 1
            case .fragmentationNeeded: rec.fragmentationNeeded += 1
            }
        }
        if let icmp { lastICMP[slot] = icmp } else if !lastICMP.isEmpty { lastICMP[slot] = nil }
        rec.lastOutcome = outcome
        rec.lastSuppressed = suppressed
        rec.lastRTTNanoseconds = outcome == .ok ? rttNanoseconds : nil
        if outcome == .ok, let ns = rttNanoseconds { rtt?.record(slot: slot, nanoseconds: ns) }
        rec.lastSentAtNanoseconds = sentAtNanoseconds
        counters[slot] = rec

        // Health changes only when a target flips between failing and answering; the steady
        // state (most results) looks nothing up by monitor id.
        var transition: MonitorTransition?
        if outcome.isFailure != wasFailing, var h = health[monitorID] {
            let wasDown = h.isDown
            h.failingTargets += outcome.isFailure ? 1 : -1
            health[monitorID] = h
            if h.isDown != wasDown {
                transition = MonitorTransition(monitorID: monitorID, isDown: h.isDown, failingTargets: h.failingTargets,
                                               totalTargets: h.totalTargets)
            }
        }
        return (suppressed, transition)
    }

    /// The counters of the entry a cookie names, if it has any: a slot a reload gave to another
    /// entry has none for this one yet.
    public func counters(for cookie: ProbeCookie) -> TargetCounters? {
        guard cookie.slot < counters.count else { return nil }
        let c = counters[cookie.slot]
        return c.isLive && c.generation == cookie.generation ? c : nil
    }

    /// ``counters(for:)`` with the entry's names, as the status file and admin API show it.
    public func record(for cookie: ProbeCookie, monitorID: String, target: String) -> TargetRecord? {
        counters(for: cookie).map {
            var r = TargetRecord(monitorID: monitorID, target: target, counters: $0)
            r.lastICMP = lastICMP[cookie.slot]
            return r
        }
    }

    /// Whether `monitorID`'s failures are suppressed right now.
    public func isSuppressed(_ monitorID: String) -> Bool { dependencies.isSuppressed(monitorID, health: health) }
}
