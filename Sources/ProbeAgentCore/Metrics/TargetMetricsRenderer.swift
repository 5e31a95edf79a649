/// Renders every (monitor, target)'s series for `/metrics` from a ledger snapshot, in chunks,
/// so a 100k-target scrape never sits in memory whole. An `all_addresses` target carries an
/// `address` label besides `target` (``ExpandedTarget``); every target carries its monitor's
/// labels and its own (``SeriesLabelTable``).
///
/// Families (each a block, as the text format requires): `probe_sent_total`,
/// `probe_replies_total`, `probe_timeouts_total`, `probe_errors_total{reason}`,
/// `probe_suppressed_total`, `probe_up`, `probe_last_rtt_seconds`, and — unless
/// `metrics.per_target_histograms` is off — `probe_round_trip_seconds` (histogram).
/// Loss is readable from counters directly:
/// `sent = replies + timeouts + Σ errors + suppressed`.
public struct TargetMetricsRenderer: Sendable {
    /// Error reasons, in the order the ledger counts them.
    public static let errorReasons = ["refused", "unreachable", "ttl_exceeded", "fragmentation_needed", "error", "unresolved"]

    private enum Family: Int, CaseIterable {
        case sent, replies, timeouts, errors, suppressed, up, lastRTT, histogram
    }

    /// The ledger as of the snapshot (shared copy-on-write, not copied).
    private let counters: [TargetCounters]
    /// The slot of each rendered row, in slot order.
    private let slots: [Int32]
    private let rtt: RTTHistograms?
    private let bounds: [String]
    /// Every row's escaped label block, back to back; `offsets[i]..<offsets[i+1]` is row i's.
    private let blob: [UInt8]
    private let offsets: [Int]
    private var family = 0
    private var index = 0
    private var headerDone = false
    private var writer = ExpositionWriter()

    /// - Parameters:
    ///   - ledger: a copy taken on the probing loop (copy-on-write: cheap to take).
    ///   - schedule: the schedule copy taken with it: the names of each slot's entry.
    ///   - config: the config the schedule's monitors came from (protocol per monitor).
    ///   - labels: each target's series labels (the loop's table; built from `config` if nil).
    public init(ledger: ResultLedger, schedule: Schedule, config: AgentConfig, labels: SeriesLabelTable? = nil) {
        var proto: [String: String] = [:]
        for m in config.monitors { proto[m.id] = m.probeProtocol.rawValue }
        let labels = labels ?? SeriesLabelTable(config)
        var slots: [Int32] = []
        var offsets = [0]
        var w = ExpositionWriter(capacity: ledger.counters.count * 80)
        schedule.forEachEntry { cookie, e in
            guard ledger.counters(for: cookie) != nil, let p = proto[e.monitorID] else { return }
            Self.appendLabels(&w, monitorID: e.monitorID, target: e.target, protocol: p, labels: labels)
            offsets.append(w.bytes.count)
            slots.append(Int32(cookie.slot))
        }
        blob = w.take()
        self.offsets = offsets
        counters = ledger.counters
        self.slots = slots
        rtt = ledger.rtt
        bounds = (ledger.rtt?.bounds ?? []).map { ExpositionWriter.bound(Double($0) / 1e9) }
    }

    /// A target's escaped label block: `monitor`, `target` (and `address` for an
    /// `all_addresses` target), `protocol`, then its monitor's and its own labels.
    static func appendLabels(_ w: inout ExpositionWriter, monitorID: String, target: String, protocol p: String,
                             labels: SeriesLabelTable) {
        w.append("monitor=\""); w.appendEscaped(monitorID)
        var name = Substring(target)
        if let (host, address) = ExpandedTarget.split(target) {
            name = host
            w.append("\",target=\""); w.appendEscaped(String(host))
            w.append("\",address=\""); w.appendEscaped(String(address))
        } else {
            w.append("\",target=\""); w.appendEscaped(target)
        }
        w.append("\",protocol=\""); w.append(p); w.append("\"")
        for (k, v) in labels.labels(monitorID: monitorID, target: name) { w.append(","); w.append(k); w.append("=\""); w.appendEscaped(v); w.append("\"") }
    }

    /// Number of (monitor, target) pairs rendered.
    public var targetCount: Int { slots.count }

    /// The next chunk of about `maxBytes` (never splitting a line), or nil when done.
    public mutating func nextChunk(maxBytes: Int = 1 << 20) -> [UInt8]? {
        while family < Family.allCases.count && writer.bytes.count < maxBytes {
            let f = Family(rawValue: family)!
            if f == .histogram && rtt == nil { family += 1; continue }
            if !headerDone { header(f); headerDone = true }
            while index < slots.count && writer.bytes.count < maxBytes {
                row(f, index)
                index += 1
            }
            if index == slots.count { family += 1; index = 0; headerDone = false }
        }
        return writer.bytes.isEmpty ? nil : writer.take()
    }

    private mutating func header(_ f: Family) {
        switch f {
        case .sent: writer.header("probe_sent_total", .counter, "Probes due for the target: replies + timeouts + errors + suppressed.")
        case .replies: writer.header("probe_replies_total", .counter, "Probes answered (echo reply; SYN-ACK or completed connect for TCP).")
        case .timeouts: writer.header("probe_timeouts_total", .counter, "Probes with no answer before their timeout.")
        case .errors: writer.header("probe_errors_total", .counter, "Failed probes by reason: refused (TCP RST), unreachable (ICMP destination unreachable), ttl_exceeded (ICMP time exceeded), fragmentation_needed (too big for a link that may not fragment it), error (local send error), unresolved (no address).")
        case .suppressed: writer.header("probe_suppressed_total", .counter, "Failures while a monitor this one depends on was down (not counted as outages).")
        case .up: writer.header("probe_up", .gauge, "1 if the latest probe of the target succeeded, else 0.")
        case .lastRTT: writer.header("probe_last_rtt_seconds", .gauge, "Round-trip time of the latest successful probe.")
        case .histogram: writer.header("probe_round_trip_seconds", .histogram, "Round-trip times of successful probes (kernel timestamps).")
        }
    }

    private mutating func row(_ f: Family, _ i: Int) {
        let slot = Int(slots[i])
        let r = counters[slot]
        let block = blob[offsets[i]..<offsets[i + 1]]
        switch f {
        case .sent: writer.sample("probe_sent_total", block: block, r.sent)
        case .replies: writer.sample("probe_replies_total", block: block, r.ok)
        case .timeouts: writer.sample("probe_timeouts_total", block: block, r.timeouts)
        case .errors:
            let counts = [r.refused, r.unreachable, r.ttlExceeded, r.fragmentationNeeded, r.errors, r.unresolved]
            for (reason, n) in zip(Self.errorReasons, counts) {
                writer.sample("probe_errors_total", block: block, extra: ("reason", reason), n)
            }
        case .suppressed: writer.sample("probe_suppressed_total", block: block, r.suppressed)
        case .up: writer.sample("probe_up", block: block, UInt64(r.lastOutcome == .ok ? 1 : 0))
        case .lastRTT:
            if let ns = r.lastRTTNanoseconds { writer.sample("probe_last_rtt_seconds", block: block, Double(ns) / 1e9) }
        case .histogram:
            guard let rtt else { return }
            var cumulative: UInt64 = 0
            let has = slot < rtt.slots
            for b in 0...bounds.count {
                if has { cumulative += rtt.count(slot: slot, bucket: b) }
                writer.sample("probe_round_trip_seconds_bucket", block: block,
                              extra: ("le", b < bounds.count ? bounds[b] : "+Inf"), cumulative)
            }
            let sum = has ? Double(rtt.sumNanoseconds[slot]) / 1e9 : 0
            writer.sample("probe_round_trip_seconds_sum", block: block, sum)
            writer.sample("probe_round_trip_seconds_count", block: block, cumulative)
        }
    }
}
