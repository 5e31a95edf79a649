import Foundation

/// The probing loop's decisions, pure: it owns the schedule, the ledger, the addresses, the
/// probes due but not yet taken by the engine, and which monitors are suppressed. The driver
/// (probe-agent's LoopState) passes CLOCK_MONOTONIC nanoseconds and what happened (a due tick,
/// results, a reload, DNS answers, a stop) and carries out what comes back (probes to submit,
/// results to hand over, notices to publish, when to write the status file).
///
/// One turn, as the driver runs it: ``housekeeping(now:)`` → ``poll(now:wallMilliseconds:)``
/// → submit ``pendingProbes`` and report ``submitted(_:)`` (a full engine keeps the rest for the
/// next turn: back-pressure, not loss) → wait ``waitMilliseconds(now:until:)`` for results →
/// ``completed(_:wallMilliseconds:)`` → hand over ``takeResults()``.
public struct ProbeLoop: Sendable {
    /// The config as the operator wrote it.
    public internal(set) var config: AgentConfig
    /// The config the schedule runs: `config` with the hostnames of `all_addresses` monitors
    /// expanded to their addresses (``ExpandedTarget``); the same value when there are none.
    public internal(set) var probed: AgentConfig
    public internal(set) var schedule: Schedule
    public internal(set) var ledger: ResultLedger
    public internal(set) var addresses: AddressBook
    /// Monitors whose failures are suppressed now (kept current on every transition and reload).
    public internal(set) var suppressed: Set<String> = []
    public internal(set) var reloads = ReloadStatus()
    /// Path monitors: every target of a monitor with `path:` (ProbeLoop+Paths).
    public internal(set) var paths: PathWatch
    /// Results for entries a reload removed or replaced: they belong to nobody.
    public private(set) var staleResults: UInt64 = 0
    /// When each probe left (kernel TX stamp) minus when it was due: the scheduler's lateness
    /// plus the time the engine took to get it out with the rest of its batch.
    public private(set) var sendLateness = DurationHistogram()
    /// The first probes went to the engine.
    public private(set) var probing = false
    public private(set) var stopping = false

    /// Probes due but not yet taken by the engine: `pending[pendingHead...]`.
    private var pending: [ProbeRequest] = []
    private var pendingHead = 0
    private var outbox: [ResultRecord] = []
    let shipping: Bool
    /// The packet options of the monitors that set any; empty (and never looked up) otherwise.
    var packetOptions: [String: PacketOptions]
    /// Burst monitors (``bursts(_:)``), their probes waiting for their spacing (by due time),
    /// and each bursting entry's results still to come (ProbeLoop+Burst).
    var burstMonitors: [String: (packets: Int, spacing: UInt64)]
    var spaced: [ProbeRequest] = []
    var burstLeft: [UInt64: Int] = [:]
    /// Each target's series labels (monitor's and its own, merged and sorted once).
    public internal(set) var seriesLabels: SeriesLabelTable
    /// Whether any monitor has `all_addresses` (only then can a target be `name/address`):
    /// kept with the config, so a result does not scan its target for the separator otherwise.
    var expandsAddresses: Bool
    private let statusInterval: UInt64
    private var nextStatusAt: UInt64
    private var nextStallCheckAt: UInt64
    private var notices: [LoopNotice] = []
    private var lastPollAt: UInt64 = 0

    mutating func appendNotice(_ n: LoopNotice) { notices.append(n) }

    /// - Parameters:
    ///   - shipping: results are handed over for delivery (remote_write is set); otherwise
    ///     they are only counted here.
    ///   - statusInterval: how often ``housekeeping(now:)`` asks for the status file, ns.
    public init(config: AgentConfig, now: UInt64, shipping: Bool, statusInterval: UInt64) {
        self.config = config
        self.shipping = shipping
        self.statusInterval = statusInterval
        // No lookup here: IP literals are probed from the first tick, and each hostname from
        // its first answer (``resolved(_:)``), so a hung resolver delays neither.
        addresses = AddressBook(config: config)
        probed = config.expandingAddresses { _ in nil }
        schedule = Schedule(config: probed, now: now)
        ledger = ResultLedger(config: probed)
        paths = PathWatch(probesPerSecond: config.scheduler.pathProbesPerSecond, now: now)
        paths.apply(probed, now: now)
        packetOptions = Self.packetOptions(config)
        burstMonitors = Self.bursts(config)
        seriesLabels = SeriesLabelTable(config)
        expandsAddresses = config.expandsAddresses
        nextStatusAt = now
        nextStallCheckAt = now
    }

    // MARK: - Probing

    /// What is due besides probing: the status file (every `statusInterval`) and a look at
    /// delivery's stall state (once a second).
    public mutating func housekeeping(now: UInt64) -> (writeStatus: Bool, checkStall: Bool) {
        let status = now >= nextStatusAt
        if status { nextStatusAt = now + statusInterval }
        let stall = now >= nextStallCheckAt
        if stall { nextStallCheckAt = now + 1_000_000_000 }
        return (status, stall)
    }

    /// Takes the probes due by `now` into ``pendingProbes``; a probe without an address
    /// (a name not resolved yet) ends at once as `unresolved`.
    public mutating func poll(now: UInt64, wallMilliseconds: Int64) {
        guard !stopping else { return }
        lastPollAt = now
        let backlog = pendingCount
        defer { if !paths.isEmpty { pollPaths(now: now, backlog: backlog) } }
        if !spaced.isEmpty { releaseSpaced(now: now) }
        for batch in schedule.poll(now: now) {
            let kind = ProbeKind(batch.probeProtocol)
            for p in batch.probes {
                guard let address = addresses.address(monitorID: p.monitorID, targetIndex: p.targetIndex, target: p.target) else {
                    _ = schedule.complete(p.cookie)
                    record(p.cookie, monitorID: p.monitorID, target: p.target, probeProtocol: batch.probeProtocol,
                           outcome: .unresolved, rtt: nil, sentAt: nil, wallMilliseconds: wallMilliseconds)
                    continue
                }
                let ms = UInt32(clamping: max(1, p.timeout.nanosecondsValue / 1_000_000))
                let options = packetOptions.isEmpty ? .none : packetOptions[p.monitorID] ?? .none
                let request = ProbeRequest(cookie: p.cookie.rawValue, address: address, kind: kind, port: p.port ?? 0,
                                           timeoutMilliseconds: ms, dueNanoseconds: p.scheduled, options: options)
                pending.append(request)
                if !burstMonitors.isEmpty, let b = burstMonitors[p.monitorID] {
                    scheduleBurst(after: request, packets: b.packets, spacing: b.spacing)
                }
            }
        }
    }

    /// Probes due and not yet taken by the engine, oldest first.
    public var pendingProbes: ArraySlice<ProbeRequest> { pending[pendingHead...] }
    public var pendingCount: Int { pending.count - pendingHead }

    mutating func appendPending(_ r: ProbeRequest) { pending.append(r) }

    /// The engine took the first `count` of ``pendingProbes``. Returns whether a large buffer
    /// was let go (the driver may then return freed memory to the system).
    @discardableResult
    public mutating func submitted(_ count: Int) -> Bool {
        guard count > 0 else { return false }
        pendingHead += count
        var released = false
        if pendingHead == pending.count {
            // Once a burst (start-up, a stall) has drained, let its buffer go (a tick is ~350).
            released = pending.capacity > 16_384
            if released { pending = [] } else { pending.removeAll(keepingCapacity: true) }
            pendingHead = 0
        } else if pendingHead > 4096 && pendingHead > pending.count / 2 {
            pending.removeFirst(pendingHead) // amortised: a backlog's sent half goes at once
            pendingHead = 0
        }
        if !probing {
            probing = true
            notices.append(.probingStarted(monitors: probed.monitors.count, targets: probed.targetCount))
        }
        return released
    }

    /// How long the driver may wait in the engine for results: until the next probe is due,
    /// the status file, or `until` (the driver's own deadlines), 5 ms while probes wait for
    /// room in the engine, and never over a second.
    public func waitMilliseconds(now: UInt64, until other: UInt64 = .max) -> Int32 {
        var until = min(nextStatusAt, other)
        if let d = schedule.nextDeadline() { until = min(until, d) }
        if let d = spaced.first?.dueNanoseconds { until = min(until, d) }
        if !paths.isEmpty, let d = paths.nextWake(now: now) { until = min(until, d) }
        if pendingHead < pending.count { until = min(until, now + 5_000_000) }
        guard until > now else { return 0 }
        return Int32(min(1000, (until - now + 999_999) / 1_000_000))
    }

    /// Results from the engine: counted, and queued for hand-over when shipping; those of
    /// trace probes go to their trace.
    ///
    /// - Parameter now: CLOCK_MONOTONIC ns (when a trace's next round may start); nil: the
    ///   last poll's.
    public mutating func completed(_ results: [ProbeResult], wallMilliseconds: Int64, now: UInt64? = nil) {
        for r in results {
            if PathWatch.isTraceCookie(r.cookie) {
                completedTrace(r, now: now ?? lastPollAt, wallMilliseconds: wallMilliseconds)
                continue
            }
            let cookie = ProbeCookie(rawValue: r.cookie)
            // A result for an entry a reload removed or replaced belongs to nobody now.
            guard let owner = schedule.owner(of: cookie), !burstDone(r.cookie) || schedule.complete(cookie) else {
                staleResults += 1
                continue
            }
            if let d = r.sendDelayNanoseconds { sendLateness.record(d) }
            record(cookie, monitorID: owner.monitorID, target: owner.target, probeProtocol: owner.probeProtocol,
                   outcome: r.outcome, rtt: r.rttNanoseconds, sentAt: r.sentAtNanoseconds, wallMilliseconds: wallMilliseconds,
                   icmp: r.icmpReport)
        }
    }

    /// The results counted since the last call, for delivery (the array itself, not a copy).
    public mutating func takeResults() -> [ResultRecord] {
        guard !outbox.isEmpty else { return [] }
        defer {
            outbox = []
            outbox.reserveCapacity(512)
        }
        return outbox
    }

    /// What happened since the last call, for the driver to publish.
    public mutating func takeNotices() -> [LoopNotice] {
        guard !notices.isEmpty else { return [] }
        defer { notices = [] }
        return notices
    }

    /// SIGTERM: no probe is taken any more; the ones not yet submitted are dropped (returned
    /// as a count), and the driver waits for those in flight until ``drainDeadline(now:)``.
    public mutating func stop() -> Int {
        stopping = true
        let dropped = pendingCount + spaced.count
        spaced = []
        pending = []
        pendingHead = 0
        return dropped
    }

    /// Until when a stopping driver waits for probes in flight: the longest timeout, plus 2 s.
    public func drainDeadline(now: UInt64) -> UInt64 {
        let longest = probed.monitors.map { UInt64($0.timeout.nanosecondsValue) }.max() ?? 1_000_000_000
        return now + longest + 2_000_000_000
    }

    // MARK: - Counting

    mutating func record(_ cookie: ProbeCookie, monitorID: String, target: String, probeProtocol: ProbeProtocol,
                         outcome: ProbeOutcome, rtt: UInt64?, sentAt: UInt64?, wallMilliseconds: Int64,
                         icmp: ICMPReport? = nil) {
        let (isSuppressed, transition) = ledger.record(cookie, monitorID: monitorID, outcome: outcome,
                                                       rttNanoseconds: rtt, sentAtNanoseconds: sentAt, icmp: icmp)
        if shipping {
            let ms = sentAt.map { Int64($0 / 1_000_000) } ?? wallMilliseconds
            let (name, labels) = series(monitorID: monitorID, target: target)
            outbox.append(ResultRecord(monitorID: monitorID, target: name, probeProtocol: probeProtocol, outcome: outcome,
                                       suppressed: isSuppressed, rttNanoseconds: outcome == .ok ? rtt : nil,
                                       timestampMilliseconds: ms, labels: labels))
        }
        if let t = transition {
            notices.append(t.isDown ? .monitorDown(t.monitorID, targets: t.totalTargets)
                : .monitorUp(t.monitorID, answering: t.totalTargets - t.failingTargets, targets: t.totalTargets))
            noteSuppressionChanges()
        }
    }

    /// A target's series: its name and labels, sorted by name as ``ResultRecord`` keeps them (an
    /// `all_addresses` target is `name/address`: its own series, under the name with an
    /// `address` label, put in its place so the record need not sort a copy per result).
    func series(monitorID: String, target: String) -> (name: String, labels: [(String, String)]) {
        if expandsAddresses, let (host, address) = ExpandedTarget.split(target) {
            var labels = seriesLabels.labels(monitorID: monitorID, target: host)
            labels.insert(("address", String(address)), at: labels.firstIndex { $0.0 > "address" } ?? labels.count)
            return (String(host), labels)
        }
        return (target, seriesLabels.labels(monitorID: monitorID, target: target))
    }

    mutating func appendResult(_ r: ResultRecord) { outbox.append(r) }

    /// After a monitor went up or down (or a reload): which monitors' failures are suppressed
    /// now, compared with before. O(monitors), and only on transitions.
    mutating func noteSuppressionChanges() {
        let now = Set(config.monitors.map(\.id).filter { ledger.isSuppressed($0) })
        for id in now.subtracting(suppressed).sorted() { notices.append(.suppressed(id)) }
        for id in suppressed.subtracting(now).sorted() where config.monitor(id: id) != nil { notices.append(.unsuppressed(id)) }
        suppressed = now
    }

    static func packetOptions(_ config: AgentConfig) -> [String: PacketOptions] {
        Dictionary(uniqueKeysWithValues: config.monitors.filter { !$0.packet.isDefault }.map { ($0.id, $0.packet) })
    }
}

/// The reloads applied and refused so far.
public struct ReloadStatus: Sendable {
    public var succeeded = 0
    public var failed = 0
    public var lastAt: Date?
    public var lastError: String?
    public var last: ReloadReport?
    public init() {}
}
