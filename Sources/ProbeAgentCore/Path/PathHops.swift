/// One hop of a target's last completed trace, as path monitors keep and export it.
public struct PathHop: Sendable, Hashable, Codable {
    public var ttl: Int
    /// Who answered at this TTL, the one that first answered last first (in a trace that
    /// straddles a change of path, the new router); empty: nobody (`*`).
    public var routers: [IPAddress]
    public var sent: Int
    public var lost: Int
    /// RTT of the answers, ns; nil when none came.
    public var minRTT: UInt64?
    public var avgRTT: UInt64?
    public var maxRTT: UInt64?

    public init(ttl: Int, routers: [IPAddress], sent: Int, lost: Int, minRTT: UInt64? = nil, avgRTT: UInt64? = nil,
                maxRTT: UInt64? = nil) {
        (self.ttl, self.routers, self.sent, self.lost) = (ttl, routers, sent, lost)
        (self.minRTT, self.avgRTT, self.maxRTT) = (minRTT, avgRTT, maxRTT)
    }

    init(_ tally: HopTally) {
        ttl = tally.ttl
        routers = tally.hosts.reversed().map(\.address) // hosts are in the order first seen
        sent = tally.done
        lost = tally.lost
        let rtt = tally.rttSummary
        (minRTT, avgRTT, maxRTT) = (rtt?.min, rtt?.avg, rtt?.max)
    }

    /// Lost / sent (0...1); 0 before any probe.
    public var lossRatio: Double { sent == 0 ? 0 : Double(lost) / Double(sent) }

    /// The router as a path prints it: its address, `*` when nobody answered.
    public var routerText: String { routers.first?.description ?? "*" }
}

/// What a target's path is known to be: per TTL, every router that answered there since the
/// path last changed. Decides whether a new trace shows a change of path.
///
/// The rule — a change is a different sequence of responding routers, and nothing else:
/// - a TTL that did not answer (`*`) in the new trace, or had no answer yet, says nothing
///   (routers that rate-limit or drop their ICMP errors; traceroute's noise);
/// - a TTL answered from a router already seen at that TTL is no change, so a per-flow
///   balancer that ever shows two routers at one TTL (ECMP; our traces keep one flow per target
///   so it should not) does not flip the path back and forth;
/// - a router not seen at its TTL before is a change: a new router on the way, or the path
///   now longer or shorter (the target answering at another TTL than before).
/// After a change, what is known restarts from the new trace — at each TTL from the routers
/// it saw that were not known there before, if any (a trace that straddles the change saw the
/// old router and the new one) — so a path that changes back is a change again.
public struct KnownPath: Sendable, Hashable {
    /// Per TTL (index ttl - 1).
    public private(set) var routers: [Set<IPAddress>] = []

    public init() {}

    /// Whether `hops` (a completed trace) is a change from what is known, and then what is
    /// known becomes `hops`; otherwise `hops` adds its routers to it. The first trace is no change.
    public mutating func take(_ hops: [PathHop]) -> Bool {
        let isFirst = routers.allSatisfy(\.isEmpty)
        let changed = !isFirst && zip(routers, hops).contains { known, hop in
            !known.isEmpty && hop.routers.contains { !known.contains($0) }
        }
        if changed {
            let old = routers
            routers = hops.map { hop in
                let fresh = hop.routers.filter { hop.ttl > old.count || !old[hop.ttl - 1].contains($0) }
                return Set(fresh.isEmpty ? hop.routers : fresh)
            }
            return true
        }
        if routers.count < hops.count { routers += Array(repeating: [], count: hops.count - routers.count) }
        for hop in hops { routers[hop.ttl - 1].formUnion(hop.routers) }
        return changed
    }
}
