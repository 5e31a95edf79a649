/// A finished (or interrupted) trace as `agentctl trace --json` prints it: per hop, who
/// answered, loss and min/avg/max RTT, mtr's report in JSON.
public struct TraceReport: Sendable, Codable, Equatable {
    public struct Hop: Sendable, Codable, Equatable {
        public var ttl: Int
        /// Who answered at this TTL, most answers first; empty: nobody (`*`).
        public var hosts: [String]
        public var sent: Int
        public var received: Int
        public var lossPercent: Double
        public var minMs: Double?
        public var avgMs: Double?
        public var maxMs: Double?
        /// How the latest answer ended its probe: ttl_exceeded (a router), ok / refused (the
        /// target), unreachable / fragmentation_needed (the path ends here); nil: no answer.
        public var outcome: String?
        /// The MTU a fragmentation needed reported.
        public var mtu: UInt32?
    }

    public var target: String
    public var address: String
    /// icmp or tcp-syn.
    public var `protocol`: String
    public var port: UInt16?
    public var maxHops: Int
    public var rounds: Int
    /// The flow identifier every probe carried (ICMP identifier; TCP source port offset).
    public var flow: UInt16
    /// The target itself answered (echo reply, SYN-ACK or RST).
    public var reached: Bool
    public var hops: [Hop]

    public init(target: String, protocol p: String, port: UInt16?, run: TraceRun) {
        self.target = target
        address = run.target.description
        self.protocol = p
        self.port = port
        maxHops = run.plan.maxHops
        rounds = run.plan.rounds
        flow = run.baseOptions.flow ?? 0
        hops = run.reportedHops.map(Hop.init)
        reached = hops.last.map { $0.outcome == ProbeOutcome.ok.rawValue || $0.outcome == ProbeOutcome.refused.rawValue } ?? false
    }
}

extension TraceReport.Hop {
    init(_ h: HopTally) {
        let rtt = h.rttSummary
        func ms(_ ns: UInt64?) -> Double? { ns.map { Double($0) / 1e6 } }
        ttl = h.ttl
        hosts = h.hosts.sorted { $0.answers > $1.answers }.map(\.address.description)
        sent = h.done
        received = h.received
        lossPercent = h.lossPercent ?? 100
        (minMs, avgMs, maxMs) = (ms(rtt?.min), ms(rtt?.avg), ms(rtt?.max))
        outcome = h.lastOutcome?.rawValue
        mtu = h.mtu
    }
}
