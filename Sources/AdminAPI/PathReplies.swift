import Foundation
import ProbeAgentCore

/// A target's path as a path monitor last traced it (`path:` monitors only): in the status
/// file, `GET /v1/monitors?monitor=ID` and `agentctl monitors --monitor ID --path`.
public struct PathDetail: Codable, Sendable, Equatable {
    public struct Hop: Codable, Sendable, Equatable {
        public var ttl: Int
        /// Who answered, most answers first; empty: nobody (`*`).
        public var routers: [String]
        public var sent: Int
        public var lost: Int
        public var lossRatio: Double
        public var minRTTSeconds: Double?
        public var avgRTTSeconds: Double?
        public var maxRTTSeconds: Double?
    }

    /// The last completed trace's hops (nil before the first with an answer).
    public var hops: [Hop]?
    public var traces: UInt64
    public var changes: UInt64
    public var lastTraceAt: Date?
    public var lastChangeAt: Date?
    /// The path before the last change, a router (or `*`) per hop.
    public var previousPath: [String]?

    public init(_ t: PathTracker) {
        let seconds = { (ns: UInt64?) in ns.map { Double($0) / 1e9 } }
        let date = { (ms: Int64?) in ms.map { Date(timeIntervalSince1970: Double($0) / 1000) } }
        hops = t.hops?.map {
            Hop(ttl: $0.ttl, routers: $0.routers.map(\.description), sent: $0.sent, lost: $0.lost, lossRatio: $0.lossRatio,
                minRTTSeconds: seconds($0.minRTT), avgRTTSeconds: seconds($0.avgRTT), maxRTTSeconds: seconds($0.maxRTT))
        }
        traces = t.traces
        changes = t.changes
        lastTraceAt = date(t.completedAt)
        lastChangeAt = date(t.changedAt)
        previousPath = t.previous?.map(\.routerText)
    }

}
