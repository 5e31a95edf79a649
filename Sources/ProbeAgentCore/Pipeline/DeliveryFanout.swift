/// Delivery to several stores (`remote_write` as a list): one ``DeliveryStateMachine`` per
/// endpoint, each with its own window, lanes, backoff, mode and counters, all reading one
/// write-ahead log at their own position (DESIGN.md, "Several stores"). Pure, like the
/// machines: events and `now` in, actions out, each action tagged with its endpoint, so a
/// store that fails backs off and keeps its backlog on disk while the others ship on.
///
/// What is shared is only the log: a batch is appended once when any endpoint asks for it
/// (with several endpoints the spill mode is write-ahead, so every batch is), and every
/// endpoint is told the same outcome. Costs: each event goes to every machine (O(endpoints)).
public struct DeliveryFanout: Sendable {
    /// An action of endpoint `endpoint` (its index in the config's `remote_write` list).
    public struct Tagged: Sendable {
        public let endpoint: Int
        public let action: DeliveryStateMachine.Action
    }

    public private(set) var machines: [DeliveryStateMachine]

    /// - Parameter backlogOnDisk: per endpoint, whether the log holds records it has not
    ///   committed (from an earlier run).
    public init(options: [DeliveryStateMachine.Options], backlogOnDisk: [Bool], now: UInt64, wallMs: Int64,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        precondition(!options.isEmpty && options.count == backlogOnDisk.count)
        machines = zip(options, backlogOnDisk).map {
            DeliveryStateMachine(options: $0, backlogOnDisk: $1, now: now, wallMs: wallMs, random: random)
        }
    }

    public var count: Int { machines.count }

    /// Whether a batch is to be logged: when any endpoint wants it logged.
    public func admission(count: Int) -> DeliveryStateMachine.Admission {
        machines.contains { $0.admission(count: count) == .log } ? .log : .memoryOnly
    }

    /// New results, with what the log did with them, to every endpoint.
    public mutating func received(_ records: [ResultRecord], _ outcome: DeliveryStateMachine.LogOutcome,
                                  now: UInt64, wallMs: Int64) -> [Tagged] {
        var out: [Tagged] = []
        for e in machines.indices {
            tag(machines[e].received(records, outcome, now: now, wallMs: wallMs), e, &out)
        }
        return out
    }

    /// Results read back from the log for endpoint `e`.
    public mutating func backlogRead(_ e: Int, _ read: [(records: [ResultRecord], end: LogPosition)], reachedEnd: Bool,
                                     now: UInt64, wallMs: Int64) -> [Tagged] {
        var out: [Tagged] = []
        tag(machines[e].backlogRead(read, reachedEnd: reachedEnd, now: now, wallMs: wallMs), e, &out)
        return out
    }

    /// Endpoint `e`'s store answered request `request`.
    public mutating func answered(_ e: Int, _ request: UInt64, _ verdict: StoreVerdict, now: UInt64, wallMs: Int64) -> [Tagged] {
        var out: [Tagged] = []
        tag(machines[e].answered(request, verdict, now: now, wallMs: wallMs), e, &out)
        return out
    }

    /// What every endpoint does now.
    public mutating func poll(now: UInt64, wallMs: Int64, flushAll: Bool = false) -> [Tagged] {
        var out: [Tagged] = []
        for e in machines.indices {
            tag(machines[e].poll(now: now, wallMs: wallMs, flushAll: flushAll), e, &out)
        }
        return out
    }

    /// The earliest time some endpoint wants a poll.
    public func nextDeadline(now: UInt64) -> UInt64 {
        machines.map { $0.nextDeadline(now: now) }.min() ?? now + 1_000_000_000
    }

    /// Results lost before they reached delivery (a full hand-off): lost for every endpoint.
    public mutating func countLost(_ n: UInt64, reason: String) {
        for e in machines.indices { machines[e].countLost(n, reason: reason) }
    }

    /// A problem of endpoint `e`'s own I/O (a read or commit of its position that failed).
    public mutating func note(_ e: Int, problem: String) { machines[e].note(problem: problem) }

    /// A problem with the shared log (an append that failed): every endpoint's.
    public mutating func noteForAll(problem: String) {
        for e in machines.indices { machines[e].note(problem: problem) }
    }

    /// Requests on their way, over every endpoint.
    public var requestsInFlight: Int { machines.reduce(0) { $0 + $1.requestsInFlight } }

    /// The endpoints whose requests have gone unanswered for their `stallAfter`.
    public func stalledEndpoints(now: UInt64) -> [Int] {
        machines.indices.filter { machines[$0].isStalled(now: now) }
    }

    /// The mode of the endpoint worst off (degraded before recovery before normal) and its
    /// index; the first one on a tie.
    public var worst: (endpoint: Int, mode: ModeTracker) {
        func rank(_ m: DeliveryMode) -> Int { m == .degraded ? 2 : m == .recovery ? 1 : 0 }
        var worst = 0
        for e in machines.indices.dropFirst() where rank(machines[e].mode.mode) > rank(machines[worst].mode.mode) { worst = e }
        return (worst, machines[worst].mode)
    }

    /// Endpoint `e`'s results in memory that are not in the log (shutdown; on_failure mode has
    /// one endpoint only).
    public mutating func takeUnlogged(_ e: Int) -> [ResultRecord] { machines[e].takeUnlogged() }

    private func tag(_ actions: [DeliveryStateMachine.Action], _ e: Int, _ out: inout [Tagged]) {
        for a in actions { out.append(Tagged(endpoint: e, action: a)) }
    }
}
