import AdminAPI
import ArgumentParser
import Foundation

private let exitCodes = """
    Exit status: 0 success; 1 the agent answered with a failure; 3 the agent could not be reached \
    (not running, no permission on the socket, no answer in time); 64 bad usage.
    """

/// `agentctl status`
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show whether the agent is up, probing, and healthy.", discussion: exitCodes)
    @OptionGroup var connection: AgentConnection
    @Flag(name: .long, help: "Print the agent's JSON.") var json = false

    func run() async throws {
        guard case .ok(let s, let data) = try await AdminClient(connection).call(AdminPaths.status, as: AgentStatus.self) else {
            throw ExitCode(AgentExit.failed)
        }
        if json { return printJSON(data) }
        var t = TextTable(header: ["FIELD", "VALUE"])
        t.add(["agent", "probe-agent \(s.version), pid \(s.pid), up \(Human.seconds(s.uptimeSeconds))"])
        t.add(["probing", s.ready ? "yes" : "not yet"])
        t.add(["config", "\(s.configPath) (reloads: \(s.reloads.succeeded) ok, \(s.reloads.failed) failed)"])
        if let e = s.reloads.lastError { t.add(["last reload error", e]) }
        t.add(["monitors", "\(s.monitorCount) (\(s.targetCount) targets)"])
        t.add(["down", s.monitorsDown.isEmpty ? "none" : s.monitorsDown.joined(separator: ", ")])
        t.add(["suppressed", s.monitorsSuppressed.isEmpty ? "none" : s.monitorsSuppressed.joined(separator: ", ")])
        t.add(["engine", "icmp4 \(s.engine.icmp4), icmp6 \(s.engine.icmp6), tcp-syn \(s.engine.tcpSyn ? "raw" : "unavailable"), capabilities dropped: \(s.engine.capabilitiesDropped ? "yes" : "NO")"])
        t.add(["probes", "\(s.engine.submitted) sent, \(s.engine.inFlight) in flight, \(s.engine.sendErrors) send errors, \(s.engine.unmatchedReplies) unmatched replies"])
        t.add(["lateness", Self.lateness(s.scheduler.lateness) + " (handed to the engine)"])
        t.add(["send lateness", Self.lateness(s.scheduler.sendLateness) + " (on the wire)"])
        t.add(["probing loop", s.scheduler.loopPriority])
        let h = s.health
        t.add(["health", "\(h.status): \(h.reason)"])
        if s.delivery != nil {
            t.add(["delivery", "\(h.mode) since \(ISO8601DateFormatter().string(from: h.modeChangedAt))"])
        }
        t.add(["http", s.httpListen.map { "http://\($0)/metrics" } ?? "-"])
        t.add(["admin socket", s.adminSocket ?? "-"])
        t.add(["resources", String(format: "%.1f s CPU, %@ resident", s.cpuSeconds, Human.bytes(s.residentBytes))])
        print(t.rendered)
    }

    static func lateness(_ l: LatenessReport) -> String {
        "p50 \(Human.seconds(l.p50Seconds)), p99 \(Human.seconds(l.p99Seconds)), max \(Human.seconds(l.maxSeconds))"
    }
}

/// `agentctl queue-stats`
struct QueueStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue-stats", abstract: "Show the way from results to each store: spill log, and per remote_write endpoint its mode, memory queue, backlog, backfill, remote write.",
        discussion: exitCodes)
    @OptionGroup var connection: AgentConnection
    @Flag(name: .long, help: "Print the agent's JSON.") var json = false

    func run() async throws {
        guard case .ok(let q, let data) = try await AdminClient(connection).call(AdminPaths.queueStats, as: QueueStatsReply.self) else {
            throw ExitCode(AgentExit.failed)
        }
        if json { return printJSON(data) }
        guard q.remoteWriteConfigured else {
            print("no remote_write configured: results are counted for /metrics but not shipped")
            return
        }
        var t = TextTable(header: ["FIELD", "VALUE"])
        let stores = q.everyStore
        let several = stores.count > 1
        t.add(["spill log", "\(Human.bytes(q.spill.bytes)) in \(q.spill.segments) segments, \(q.spill.corruptRecords) corrupt records"])
        t.add(["results made", "\(q.resultsReceived)"])
        for store in stores {
            // One store: the rows as they always were; several: each store's, under its name.
            let p = several ? "  " : ""
            if several { t.add(["store \(store.name)", store.url]) } else { t.add(["store", store.url]) }
            t.add([p + "mode", "\(store.delivery.mode): \(store.delivery.reason)"])
            t.add([p + "memory queue", "\(store.memory.depth) / \(store.memory.capacity) results, \(store.memory.overflows) overflows to disk"])
            t.add([p + "backlog", "\(store.pendingResults) results pending in the spill log, oldest \(Human.seconds(store.oldestAgeSeconds)), \(store.droppedResults) dropped by the caps"])
            t.add([p + "backfill", "\(store.backfill.ratePerSecond)/s, ETA \(Human.seconds(store.backfill.etaSeconds))"])
            let r = store.remoteWrite
            t.add([p + "remote write", "\(r.samplesSent) samples in \(r.requestsSent) requests; \(r.requestsFailed) failed, \(r.retries) retried; \(r.requestsInFlight) in flight"])
            t.add([p + "set aside", "\(r.deadLetterResults) results dead-lettered (\(r.deadLetterRequests) requests), \(r.tooOldDropped) too old"])
            t.add([p + "lag", Human.seconds(r.lagSeconds)])
            t.add([p + "results", "\(store.resultsShipped) shipped, \(store.resultsLost) lost"])
            if let e = r.lastError { t.add([p + "last error", e]) }
        }
        print(t.rendered)
    }
}

/// `agentctl monitors [--graph] [--monitor ID]`
struct MonitorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitors", abstract: "List monitors with their state, success rate and targets' last results.",
        discussion: """
            State: up; down (every target failing); suppressed (a monitor it depends on is down, so its \
            failures are not outages). --graph prints the depends_on tree instead.

            \(exitCodes)
            """)
    @OptionGroup var connection: AgentConnection
    @Flag(name: .long, help: "Print the agent's JSON.") var json = false
    @Flag(name: .long, help: "Print the depends_on tree.") var graph = false
    @Option(name: .long, help: "Only this monitor, with every target.") var monitor: String?
    @Flag(name: .long, help: "With --monitor: each target's last traced path (a path monitor's hops: router, loss, RTT) and its last change.")
    var path = false

    func validate() throws {
        if path && monitor == nil { throw ValidationError("--path needs --monitor ID") }
    }

    func run() async throws {
        let client = try AdminClient(connection)
        if graph {
            guard case .ok(let g, let data) = try await client.call(AdminPaths.graph, as: GraphReply.self) else { throw ExitCode(AgentExit.failed) }
            return json ? printJSON(data) : print(DependencyTree.render(g))
        }
        let uri = monitor.map { AdminPaths.monitors + "?monitor=" + ($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0) } ?? AdminPaths.monitors
        guard case .ok(let m, let data) = try await client.call(uri, as: MonitorsReply.self) else { throw ExitCode(AgentExit.failed) }
        if json { return printJSON(data) }
        var t = TextTable(header: ["MONITOR", "PROTOCOL", "STATE", "TARGETS", "FAILING", "SUCCESS", "CADENCE"], numericColumns: [3, 4, 5])
        for x in m.monitors {
            let proto = x.port.map { "\(x.protocol):\($0)" } ?? x.protocol
            // A shard's share: "x of y" (y: the whole list the shards split).
            let count = x.listedTargets.map { "\(x.targets.count) of \($0)" } ?? "\(x.targets.count)"
            t.add([x.id, proto, x.state, count, "\(x.failingTargets)", Human.percent(x.successRate), Human.seconds(x.cadenceSeconds)])
        }
        print(t.rendered)
        guard monitor != nil else { return }
        var targets = TextTable(header: ["TARGET", "ADDRESS", "LAST", "RTT", "SENT", "OK", "TIMEOUTS", "ERRORS", "SUCCESS"], numericColumns: [4, 5, 6, 7, 8])
        for x in m.monitors {
            for tg in x.targets {
                let last = (tg.lastOutcome ?? "-") + Human.icmp(tg.lastICMP) + (tg.lastSuppressed ? " (suppressed)" : "")
                targets.add([tg.target, tg.address ?? "unresolved", last, Human.seconds(tg.lastRTTSeconds), "\(tg.sent)", "\(tg.ok)",
                             "\(tg.timeouts)", "\(tg.errors)", Human.percent(tg.successRate)])
            }
        }
        print("")
        print(targets.rendered)
        if path { printPaths(m) }
    }

    /// Per target: its hops as mtr shows them, then when the path last changed and from what.
    private func printPaths(_ m: MonitorsReply) {
        for x in m.monitors {
            for tg in x.targets {
                print("")
                guard let p = tg.path else {
                    print("\(tg.target): no path monitor (the monitor has no path: section)")
                    continue
                }
                let changed = p.lastChangeAt.map { "last change \(ISO8601DateFormatter().string(from: $0))" + (p.previousPath.map { ", was \($0.joined(separator: " → "))" } ?? "") }
                print("path to \(tg.target): \(p.traces) traces, \(p.changes) changes" + (changed.map { "; \($0)" } ?? ""))
                guard let hops = p.hops else {
                    print("  (no trace completed yet)")
                    continue
                }
                var t = TextTable(header: ["HOP", "ROUTER", "LOSS", "SENT", "MIN", "AVG", "MAX"], numericColumns: [0, 2, 3, 4, 5, 6])
                for h in hops {
                    t.add(["\(h.ttl)", h.routers.first ?? "*", Human.percent(h.lossRatio), "\(h.sent)", Human.seconds(h.minRTTSeconds),
                           Human.seconds(h.avgRTTSeconds), Human.seconds(h.maxRTTSeconds)])
                    for other in h.routers.dropFirst() { t.add(["", other, "", "", "", "", ""]) }
                }
                print(t.rendered)
            }
        }
    }
}

/// `agentctl reload`
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload", abstract: "Make the agent re-read its config file now and report what changed.",
        discussion: """
            The agent validates the file first: a file with errors is refused, the running config \
            keeps running, and the errors are printed (exit 1). Unchanged monitors keep their \
            schedule and counters.

            \(exitCodes)
            """)
    @OptionGroup var connection: AgentConnection
    @Flag(name: .long, help: "Print the agent's JSON.") var json = false

    func run() async throws {
        let answer = try await AdminClient(connection).call(post: true, AdminPaths.reload, as: ReloadReply.self)
        switch answer {
        case .ok(let r, let data):
            if json { return printJSON(data) }
            print("reloaded: \(r.unchanged.count) unchanged, \(r.changed.count) changed, \(r.added.count) added, \(r.removed.count) removed monitors")
            for (what, ids) in [("changed", r.changed), ("added", r.added), ("removed", r.removed)] where !ids.isEmpty {
                print("  \(what): \(ids.joined(separator: ", "))")
            }
        case .refused(let r, let data):
            if json { printJSON(data) } else {
                printError("agentctl: reload refused, the running config stays:")
                for e in (r.error ?? "unknown error").split(separator: ";") { printError("  " + e.trimmingCharacters(in: CharacterSet.whitespaces)) }
            }
            throw ExitCode(AgentExit.failed)
        }
    }
}

/// `agentctl events [--follow]`
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Show recent events: monitors going up, down or suppressed, delivery mode changes, reloads, path changes.",
        discussion: """
            Without --follow: the agent's last 512 events. With --follow: the last 20, then each new \
            event as it happens, until interrupted or the agent stops. --json prints one JSON object \
            per line.

            \(exitCodes)
            """)
    @OptionGroup var connection: AgentConnection
    @Flag(name: .long, help: "One JSON object per line.") var json = false
    @Flag(name: .shortAndLong, help: "Keep printing new events.") var follow = false

    func run() async throws {
        let client = try AdminClient(connection)
        if follow {
            try await client.stream(AdminPaths.events + "?follow=1") { line in
                if json { print(String(decoding: line, as: UTF8.self)) } else if let e = try? JSONDecoder.admin.decode(AgentEvent.self, from: line) {
                    print(Self.format(e))
                }
                fflush(nil) // each event as it comes, also into a pipe
            }
            return
        }
        guard case .ok(let list, _) = try await client.call(AdminPaths.events, as: [AgentEvent].self) else { throw ExitCode(AgentExit.failed) }
        for e in list {
            if json {
                print(String(decoding: try JSONEncoder.admin.encode(e), as: UTF8.self))
            } else {
                print(Self.format(e))
            }
        }
    }

    static func format(_ e: AgentEvent) -> String {
        "\(ISO8601DateFormatter().string(from: e.time))  \(e.kind.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0))  \(e.message)"
    }
}

/// The depends_on graph as an indented tree: roots first, each child under every parent.
///
/// Walked with a stack of its own, and bounded: a monitor whose children were already listed
/// shows "(children above)" instead of listing them again (a lattice of shared children would
/// otherwise double at each level), and levels past ``maxDepth`` are summarised in one line
/// (a 100k-long chain would otherwise print 2·10¹⁰ characters of indentation).
enum DependencyTree {
    static let maxDepth = 32

    static func render(_ g: GraphReply) -> String {
        let state = Dictionary(g.nodes.map { ($0.id, $0.state) }, uniquingKeysWith: { first, _ in first })
        var children: [String: [String]] = [:]
        for n in g.nodes { for p in n.dependsOn { children[p, default: []].append(n.id) } }
        var lines: [String] = []
        var expanded: Set<String> = []
        // (id, prefix of its line, its branch, prefix for its children, depth), last pushed first out.
        var stack: [(id: String, prefix: String, branch: String, childPrefix: String, depth: Int)] = []
        for n in g.nodes.reversed() where n.dependsOn.isEmpty { stack.append((n.id, "", "", "", 0)) }
        while let (id, prefix, branch, childPrefix, depth) = stack.popLast() {
            let kids = children[id] ?? []
            let again = !kids.isEmpty && !expanded.insert(id).inserted
            lines.append(prefix + branch + "\(id) [\(state[id] ?? "?")]" + (again ? " (children above)" : ""))
            guard !again, !kids.isEmpty else { continue }
            guard depth < maxDepth else {
                lines.append(childPrefix + "└── … deeper levels not shown (agentctl monitors --graph --json lists them)")
                continue
            }
            for (i, k) in kids.enumerated().reversed() {
                let last = i == kids.count - 1
                stack.append((k, childPrefix, last ? "└── " : "├── ", childPrefix + (last ? "    " : "│   "), depth + 1))
            }
        }
        return lines.joined(separator: "\n")
    }
}
