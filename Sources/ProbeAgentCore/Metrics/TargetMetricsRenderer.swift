/// Renders every (monitor, target)'s series for `/metrics` from a ledger snapshot, in chunks,
/// so a 100k-target scrape never sits in memory whole.
///
/// Families (each a block, as the text format requires): `probe_sent_total`,
/// `probe_replies_total`, `probe_timeouts_total`, `probe_errors_total{reason}`,
/// `probe_suppressed_total`, `probe_up`, `probe_last_rtt_seconds`, and — unless
/// `metrics.per_target_histograms` is off — `probe_round_trip_seconds` (histogram).
/// Loss is readable from counters directly:
/// `sent = replies + timeouts + Σ errors + suppressed`.
public struct TargetMetricsRenderer: Sendable {
    /// Error reasons, in the order the ledger counts them.
    public static let errorReasons = ["refused", "unreachable", "error", "unresolved"]

    private enum Family: Int, CaseIterable {
        case sent, replies, timeouts, errors, suppressed, up, lastRTT, histogram
    }

    private let records: [TargetRecord]
    private let slots: [Int]
    private let rtt: RTTHistograms?
    private let bounds: [String]
    /// Every record's escaped label block, back to back; `offsets[i]..<offsets[i+1]` is record i's.
    private var blob: [UInt8] = []
    private var offsets: [Int] = [0]
    private var family = 0
    private var index = 0
    private var writer = ExpositionWriter()

    /// - Parameters:
    ///   - ledger: a copy taken on the probing loop (copy-on-write: cheap to take).
    ///   - config: the config the ledger's monitors came from (protocol and labels per monitor).
    public init(ledger: ResultLedger, config: AgentConfig) {
        var prefix: [String: (proto: String, labels: [(String, String)])] = [:]
        for m in config.monitors {
            prefix[m.id] = (m.probeProtocol.rawValue, m.labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        }
        var records: [TargetRecord] = []
        var slots: [Int] = []
        var w = ExpositionWriter(capacity: ledger.records.count * 80)
        for (slot, r) in ledger.records.enumerated() {
            guard let r, let p = prefix[r.monitorID] else { continue }
            w.append("monitor=\""); w.appendEscaped(r.monitorID)
            w.append("\",target=\""); w.appendEscaped(r.target)
            w.append("\",protocol=\""); w.append(p.proto); w.append("\"")
            for (k, v) in p.labels { w.append(","); w.append(k); w.append("=\""); w.appendEscaped(v); w.append("\"") }
            offsets.append(w.bytes.count)
            records.append(r)
            slots.append(slot)
        }
        blob = w.take()
        self.records = records
        self.slots = slots
        rtt = ledger.rtt
        bounds = (ledger.rtt?.bounds ?? []).map { ExpositionWriter.bound(Double($0) / 1e9) }
    }

    /// Number of (monitor, target) pairs rendered.
    public var targetCount: Int { records.count }

    /// The next chunk of about `maxBytes` (never splitting a line), or nil when done.
    public mutating func nextChunk(maxBytes: Int = 1 << 20) -> [UInt8]? {
        while family < Family.allCases.count && writer.bytes.count < maxBytes {
            let f = Family(rawValue: family)!
            if f == .histogram && rtt == nil { family += 1; continue }
            if index == 0 { header(f) }
            while index < records.count && writer.bytes.count < maxBytes {
                row(f, index)
                index += 1
            }
            if index == records.count { family += 1; index = 0 }
        }
        return writer.bytes.isEmpty ? nil : writer.take()
    }

    private mutating func header(_ f: Family) {
        switch f {
        case .sent: writer.header("probe_sent_total", .counter, "Probes due for the target: replies + timeouts + errors + suppressed.")
        case .replies: writer.header("probe_replies_total", .counter, "Probes answered (echo reply; SYN-ACK or completed connect for TCP).")
        case .timeouts: writer.header("probe_timeouts_total", .counter, "Probes with no answer before their timeout.")
        case .errors: writer.header("probe_errors_total", .counter, "Failed probes by reason: refused (TCP RST), unreachable (ICMP error), error (local send error), unresolved (no address).")
        case .suppressed: writer.header("probe_suppressed_total", .counter, "Failures while a monitor this one depends on was down (not counted as outages).")
        case .up: writer.header("probe_up", .gauge, "1 if the latest probe of the target succeeded, else 0.")
        case .lastRTT: writer.header("probe_last_rtt_seconds", .gauge, "Round-trip time of the latest successful probe.")
        case .histogram: writer.header("probe_round_trip_seconds", .histogram, "Round-trip times of successful probes (kernel timestamps).")
        }
    }

    private mutating func row(_ f: Family, _ i: Int) {
        let r = records[i]
        let block = blob[offsets[i]..<offsets[i + 1]]
        switch f {
        case .sent: writer.sample("probe_sent_total", block: block, r.sent)
        case .replies: writer.sample("probe_replies_total", block: block, r.ok)
        case .timeouts: writer.sample("probe_timeouts_total", block: block, r.timeouts)
        case .errors:
            let counts = [r.refused, r.unreachable, r.errors, r.unresolved]
            for (reason, n) in zip(Self.errorReasons, counts) {
                writer.sample("probe_errors_total", block: block, extra: ("reason", reason), n)
            }
        case .suppressed: writer.sample("probe_suppressed_total", block: block, r.suppressed)
        case .up: writer.sample("probe_up", block: block, UInt64(r.lastOutcome == .ok ? 1 : 0))
        case .lastRTT:
            if let ns = r.lastRTTNanoseconds { writer.sample("probe_last_rtt_seconds", block: block, Double(ns) / 1e9) }
        case .histogram:
            guard let rtt else { return }
            let slot = slots[i]
            var cumulative: UInt64 = 0
            let has = slot < rtt.slots
            for b in 0...bounds.count {
                if has { cumulative += rtt.counts[slot * rtt.stride + b] }
                writer.sample("probe_round_trip_seconds_bucket", block: block,
                              extra: ("le", b < bounds.count ? bounds[b] : "+Inf"), cumulative)
            }
            let sum = has ? Double(rtt.sumNanoseconds[slot]) / 1e9 : 0
            writer.sample("probe_round_trip_seconds_sum", block: block, sum)
            writer.sample("probe_round_trip_seconds_count", block: block, cumulative)
        }
    }
}
