import Foundation
import ProbeAgentCore
import ProbeEngine

/// The rounds of one `agentctl probe` run and their per-target tally.
struct ProbeSession {
    let targets: [(name: String, address: IPAddress)]
    let kind: ProbeKind
    let port: UInt16
    let options: PacketOptions
    let count: Int
    let intervalMs: Int
    let timeoutMs: UInt32
    let json: Bool
    let quiet: Bool

    struct Tally: Codable {
        var target: String
        var address: String
        var sent = 0
        var received = 0
        var refused = 0
        var unreachable = 0
        var ttlExceeded = 0
        var fragmentationNeeded = 0
        var timeouts = 0
        var errors = 0
        var rttsMs: [Double] = []
        var lossPercent: Double { sent == 0 ? 0 : Double(sent - received) * 100 / Double(sent) }
    }

    struct Line: Codable {
        var target: String
        var address: String
        var round: Int
        var status: String
        var rttMs: Double?
        var clock: String?
        var icmpType: UInt8?
        var icmpCode: UInt8?
        var reporter: String?
        var mtu: UInt32?
        var error: String?
    }

    struct Report: Codable {
        struct Summary: Codable {
            var target: String, address: String
            var sent: Int, received: Int, refused: Int, unreachable: Int, ttlExceeded: Int, fragmentationNeeded: Int
            var timeouts: Int, errors: Int
            var lossPercent: Double
            var minMs: Double?, avgMs: Double?, maxMs: Double?
        }
        /// CPU (user+sys) spent inside the engine calls, per probe: the engine's own cost
        /// without start-up, target parsing and printing.
        struct Cost: Codable {
            var probes: Int
            var engineCpuMicrosecondsPerProbe: Double
        }
        var kind: String
        var port: UInt16?
        var engine: Engine.Info
        var cost: Cost
        var results: [Line]
        var summary: [Summary]
    }

    /// Runs every round; returns true when every target answered at least once.
    func run(_ engine: Engine) -> Bool {
        var tallies = targets.map { Tally(target: $0.name, address: $0.address.description) }
        var lines: [Line] = []
        var engineCPU = 0.0, probes = 0
        for round in 0..<count {
            let started = Date()
            let batch = targets.enumerated().map { i, t in
                ProbeRequest(cookie: UInt64(round) << 32 | UInt64(i), address: t.address, kind: kind,
                             port: port, timeoutMilliseconds: timeoutMs, options: options)
            }
            let cpuBefore = ProcessUsage.cpuSeconds()
            let results = engine.run(batch)
            engineCPU += ProcessUsage.cpuSeconds() - cpuBefore
            probes += results.count
            for r in results {
                let i = Int(r.cookie & 0xffff_ffff)
                let line = record(r, round: round, into: &tallies[i])
                if json { lines.append(line) } else if !quiet { print(text(line)) }
            }
            let left = Double(intervalMs) / 1000 - Date().timeIntervalSince(started)
            if round + 1 < count && left > 0 { Thread.sleep(forTimeInterval: left) }
        }
        let summary = tallies.map(summarize)
        if json {
            let cost = Report.Cost(probes: probes,
                                   engineCpuMicrosecondsPerProbe: probes == 0 ? 0 : engineCPU * 1e6 / Double(probes))
            let report = Report(kind: kind.description, port: kind == .icmp ? nil : port, engine: engine.info,
                                cost: cost, results: quiet ? [] : lines, summary: summary)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: (try? enc.encode(report)) ?? Data(), as: UTF8.self))
        } else {
            if !quiet { print("") }
            for s in summary { print(text(s)) }
        }
        return tallies.allSatisfy { $0.received > 0 }
    }

    private func record(_ r: ProbeResult, round: Int, into t: inout Tally) -> Line {
        t.sent += 1
        let rtt = Double(r.rttNanoseconds) / 1e6
        let outcome = r.outcome
        var line = Line(target: t.target, address: t.address, round: round, status: outcome.rawValue)
        if let icmp = r.icmpReport {
            line.icmpType = icmp.type
            line.icmpCode = icmp.code
            line.reporter = icmp.reporter?.description
            line.mtu = icmp.mtu
        }
        if r.status == .error || (r.status == .unreachable && r.reporter == nil && r.errno != 0) {
            line.error = String(cString: strerror(r.errno))
        }
        switch outcome {
        case .ok:
            t.received += 1
            t.rttsMs.append(rtt)
            line.rttMs = rtt
            line.clock = r.clock.rawValue
        case .refused:
            t.refused += 1
            line.rttMs = rtt
        case .unreachable: t.unreachable += 1
        case .ttlExceeded: t.ttlExceeded += 1
        case .fragmentationNeeded: t.fragmentationNeeded += 1
        case .timeout: t.timeouts += 1
        case .error, .unresolved: t.errors += 1
        }
        return line
    }

    private func summarize(_ t: Tally) -> Report.Summary {
        let avg = t.rttsMs.isEmpty ? nil : t.rttsMs.reduce(0, +) / Double(t.rttsMs.count)
        return Report.Summary(target: t.target, address: t.address, sent: t.sent, received: t.received,
                              refused: t.refused, unreachable: t.unreachable, ttlExceeded: t.ttlExceeded,
                              fragmentationNeeded: t.fragmentationNeeded, timeouts: t.timeouts,
                              errors: t.errors, lossPercent: t.lossPercent, minMs: t.rttsMs.min(),
                              avgMs: avg, maxMs: t.rttsMs.max())
    }

    private func label(_ target: String, _ address: String) -> String {
        let who = target == address ? target : "\(target) (\(address))"
        return kind == .icmp ? who : "\(who):\(port)"
    }

    private func text(_ l: Line) -> String {
        var s = "\(label(l.target, l.address)) : [\(l.round)] \(l.status)"
        if let ms = l.rttMs { s += String(format: " %.3f ms", ms) }
        if let c = l.clock, c != "kernel" { s += " (\(c) clock)" }
        if let ty = l.icmpType, let from = l.reporter {
            s += " (ICMP type \(ty) code \(l.icmpCode ?? 0)\(l.mtu.map { ", mtu \($0)" } ?? "") from \(from))"
        }
        if let e = l.error { s += " (\(e))" }
        return s
    }

    private func text(_ s: Report.Summary) -> String {
        var line = "\(label(s.target, s.address)) : xmt/rcv/%loss = \(s.sent)/\(s.received)/"
            + String(format: "%.0f%%", s.lossPercent)
        if let mn = s.minMs, let avg = s.avgMs, let mx = s.maxMs {
            line += String(format: ", min/avg/max = %.3f/%.3f/%.3f", mn, avg, mx)
        }
        if s.refused > 0 { line += ", refused = \(s.refused)" }
        if s.unreachable > 0 { line += ", unreachable = \(s.unreachable)" }
        if s.ttlExceeded > 0 { line += ", ttl_exceeded = \(s.ttlExceeded)" }
        if s.fragmentationNeeded > 0 { line += ", fragmentation_needed = \(s.fragmentationNeeded)" }
        return line
    }
}
