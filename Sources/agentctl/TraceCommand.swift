import ArgumentParser
import Foundation
import ProbeAgentCore
import ProbeEngine

/// `agentctl trace TARGET`: one mtr-like report of the path, through the agent's engine.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace the path to a target now: hops, who answered, loss, min/avg/max RTT.",
        discussion: """
            Sends TTL-limited probes (ICMP echo, or a TCP SYN with --tcp PORT) through the same \
            engine as the agent, for COUNT rounds. Every probe of a run carries one flow \
            (Paris traceroute: the same ICMP identifier and checksum, the same TCP source port), \
            so per-flow load balancing (ECMP) does not mix two paths into one. A round goes up \
            at most 8 TTLs at a time, stops at the target or at a router that says it is \
            unreachable, and gives up 5 silent TTLs past the farthest answer; later rounds go \
            only as far as the target. A hop that does not answer shows as * with its loss. \
            Raw sockets (CAP_NET_RAW) for --tcp and -M.

            Exit status: 0 the target answered; 1 it did not; 2 the name did not resolve; \
            3 the probe engine could not start.

            Examples:
              agentctl trace 198.18.22.2
              agentctl trace --tcp 443 -c 5 --json 2001:db8:22::2
              agentctl trace -M -b 1472 198.18.22.2     # where does a 1500-byte packet stop?
            """
    )

    @Option(name: .customLong("tcp"), help: "TCP SYN probes to PORT instead of ICMP echo.")
    var tcpPort: UInt16?

    @Option(name: [.customShort("m"), .long], help: "Highest TTL probed (1-64).")
    var maxHops: Int = 30

    @Option(name: .shortAndLong, help: "Rounds: probes per hop (1-1000).")
    var count: Int = 3

    @OptionGroup var timing: ProbeTimingFlags

    @Flag(name: .long, help: "Print JSON instead of the table.")
    var json = false

    @OptionGroup var packet: PacketOptionFlags

    @Argument(help: "An IP address or hostname.")
    var target: String

    func validate() throws {
        if tcpPort == 0 { throw ValidationError("port must be 1-65535") }
        if !TracePlan.maxHopsRange.contains(maxHops) { throw ValidationError("--max-hops must be 1-64") }
        if !(1...1000).contains(count) { throw ValidationError("--count must be 1-1000") }
        if packet.ttl != nil { throw ValidationError("-H does not apply: a trace sets the TTL of every probe") }
        try packet.check(kind: tcpPort == nil ? .icmp : .tcpSyn)
    }

    func run() throws {
        let address: IPAddress
        do { address = try Resolver.resolve(target, family: timing.family)[0] } catch {
            printError("agentctl: \(error)")
            throw ExitCode(2)
        }
        try packet.check(targets: [address])
        let engine: Engine
        do { engine = try Engine(options: Engine.Options()) } catch {
            printError("agentctl: \(error)")
            throw ExitCode(3)
        }
        let plan = TracePlan(maxHops: maxHops, rounds: count,
                             roundInterval: UInt64(try timing.intervalMilliseconds()) * 1_000_000,
                             timeout: UInt64(try timing.timeoutMilliseconds()) * 1_000_000)
        let kind: ProbeKind = tcpPort == nil ? .icmp : .tcpSyn
        let run = TraceDriver(engine: engine, kind: kind, port: tcpPort ?? 0)
            .trace(address, plan: plan, options: packet.options)
        let report = TraceReport(target: target, protocol: kind.description, port: tcpPort, run: run)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: (try? enc.encode(report)) ?? Data(), as: UTF8.self))
        } else {
            print(Self.text(report))
        }
        if !report.reached { throw ExitCode(1) }
    }

    /// mtr's report layout: one line per hop; a second router at the same TTL on a line of its own.
    static func text(_ r: TraceReport) -> String {
        let to = r.target == r.address ? r.address : "\(r.target) (\(r.address))"
        let proto = r.port.map { "\(r.protocol) port \($0)" } ?? r.protocol
        var t = TextTable(header: ["HOP", "HOST", "LOSS", "SENT", "MIN", "AVG", "MAX", "ANSWER"], numericColumns: [0, 2, 3, 4, 5, 6])
        for h in r.hops {
            let ms = { (v: Double?) in v.map { String(format: "%.3f", $0) } ?? "-" }
            let answer = (h.outcome ?? "-") + (h.mtu.map { " (mtu \($0))" } ?? "")
            t.add(["\(h.ttl)", h.hosts.first ?? "*", String(format: "%.1f%%", h.lossPercent), "\(h.sent)",
                   ms(h.minMs), ms(h.avgMs), ms(h.maxMs), answer])
            for other in h.hosts.dropFirst() { t.add(["", other, "", "", "", "", "", ""]) }
        }
        let end = r.reached ? "" : "\n(the target did not answer within \(r.maxHops) hops)"
        return "trace to \(to), \(proto), \(r.maxHops) hops max, \(r.rounds) rounds, flow \(r.flow) (RTT in ms)\n" + t.rendered + end
    }
}

/// Carries out a ``TraceRun`` on an engine: sends what it asks for, hands it the results.
struct TraceDriver {
    let engine: Engine
    let kind: ProbeKind
    let port: UInt16

    func trace(_ address: IPAddress, plan: TracePlan, options: PacketOptions) -> TraceRun {
        var run = TraceRun(target: address, plan: plan, flow: UInt16.random(in: 1...UInt16.max), options: options,
                           now: MonotonicClock.nanoseconds())
        let timeoutMs = UInt32(clamping: max(1, plan.timeout / 1_000_000))
        // Bounded: every probe has a result by its timeout; the guard is a backstop.
        let giveUp = MonotonicClock.nanoseconds() + UInt64(plan.rounds) * (plan.roundInterval + plan.timeout * UInt64(plan.maxHops)) + 10_000_000_000
        var waiting: [ProbeRequest] = []
        while !run.isFinished && MonotonicClock.nanoseconds() < giveUp {
            let now = MonotonicClock.nanoseconds()
            waiting += run.probesDue(now: now).map {
                ProbeRequest(cookie: UInt64($0.id), address: address, kind: kind, port: port,
                             timeoutMilliseconds: timeoutMs, options: run.options(for: $0))
            }
            if !waiting.isEmpty { waiting.removeFirst(engine.submit(waiting)) }
            let wake = run.nextWake().map { $0 > now ? Int32(min(100, ($0 - now) / 1_000_000 + 1)) : 0 } ?? 100
            for r in engine.poll(timeoutMilliseconds: wake) {
                run.record(UInt32(truncatingIfNeeded: r.cookie), outcome: r.outcome, reporter: r.reporter,
                           rttNanoseconds: r.rttNanoseconds, mtu: r.mtu == 0 ? nil : r.mtu, now: MonotonicClock.nanoseconds())
            }
        }
        return run
    }
}
