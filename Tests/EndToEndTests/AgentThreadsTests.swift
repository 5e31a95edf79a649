import AdminAPI
import Foundation
import Testing

/// The agent's busy threads as the kernel sees them: named (so `top -H` and perf tell them
/// apart), the probing loop at the default priority with a short scheduling slice — or at
/// SCHED_RR 1 with `scheduler.loop_priority: realtime` — and the shipper and NIO threads at
/// nice 10 below it (ThreadPriority.swift).
@Suite("probe-agent's threads: names, priorities, the loop's slice", .serialized, .timeLimit(.minutes(4)))
struct AgentThreadsTests {
    /// `policy`: 0 SCHED_OTHER, 2 SCHED_RR (stat field 41); `rtPriority`: stat field 40.
    struct Task { let name: String, nice: Int, slice: Int?, policy: Int, rtPriority: Int }

    /// Every thread of `pid`: its name (comm), nice value (stat field 19) and EEVDF slice.
    static func tasks(pid: pid_t) throws -> [Task] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").map { tid in
            let dir = "/proc/\(pid)/task/\(tid)"
            let name = try String(contentsOfFile: dir + "/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let stat = try String(contentsOfFile: dir + "/stat", encoding: .utf8)
            let fields = stat[stat.range(of: ")", options: .backwards)!.upperBound...].split(separator: " ")
            let sched = (try? String(contentsOfFile: dir + "/sched", encoding: .utf8)) ?? ""
            let slice = sched.split(separator: "\n").first { $0.hasPrefix("se.slice") }
                .flatMap { Int($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) }
            // fields[0] is stat's field 3 (state), so field N is fields[N - 3].
            return Task(name: name, nice: Int(fields[16])!, slice: slice, policy: Int(fields[38])!, rtPriority: Int(fields[37])!)
        }
    }

    @Test func loopShipperAndEventLoopsAreNamedAndPrioritised() throws {
        let store = try FakeStore()
        let spill = FileManager.default.temporaryDirectory.appendingPathComponent("threads-spill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: spill) }
        let agent = try RunningAgent(config: """
            spill: {dir: \(spill.path)}
            remote_write: {url: \(store.url), flush_interval: 200ms}
            monitors:
              - id: closed
                protocol: tcp-connect
                port: 9
                cadence: 500ms
                targets: [127.0.0.1]
            """)
        #expect(agent.waitForStatus(timeout: 20) { ($0.delivery?.resultsShipped ?? 0) > 0 } != nil, "log:\n\(agent.log)")
        let tasks = try Self.tasks(pid: agent.pid)
        let loop = try #require(tasks.first { $0.name == "probe-loop" }, "threads: \(tasks.map(\.name))")
        #expect(loop.nice == 0 && loop.policy == 0)
        #expect(loop.slice == 300_000, "the loop asks for a 0.3 ms slice (Linux 6.12+)")
        let ship = try #require(tasks.first { $0.name == "probe-ship" }, "threads: \(tasks.map(\.name))")
        #expect(ship.nice == 10)
        let nio = tasks.filter { $0.name.hasPrefix("NIO-") }
        #expect(!nio.isEmpty && nio.allSatisfy { $0.nice == 10 }, "\(nio.map { ($0.name, $0.nice) })")
        #expect(tasks.filter { $0.name != "probe-loop" }.allSatisfy { $0.slice != 300_000 }, "only the loop's slice is short")
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }

    static let oneTarget = """
        scheduler: {loop_priority: realtime}
        monitors:
          - id: lo
            protocol: icmp
            cadence: 500ms
            targets: [127.0.0.2]
        """

    static func status(_ agent: RunningAgent) throws -> AgentStatus {
        try JSONDecoder.admin.decode(AgentStatus.self, from: Data(try agent.agentctl(["status", "--json"]).stdout.utf8))
    }

    @Test(.enabled(if: Tools.isRoot, "raises RLIMIT_RTPRIO as root before dropping capabilities"))
    func realtimeLoopIsSchedRRAndNoOtherThreadIs() throws {
        let agent = try RunningAgent(config: Self.oneTarget)
        #expect(agent.waitForStatus(timeout: 20) { $0.sent("lo") >= 2 } != nil, "log:\n\(agent.log)")
        let tasks = try Self.tasks(pid: agent.pid)
        let loop = try #require(tasks.first { $0.name == "probe-loop" }, "threads: \(tasks.map(\.name))")
        #expect(loop.policy == 2 && loop.rtPriority == 1, "SCHED_RR 1: \(loop)")
        let others = tasks.filter { $0.name != "probe-loop" }
        #expect(!others.isEmpty && others.allSatisfy { $0.policy == 0 }, "\(others.map { ($0.name, $0.policy) })")
        #expect(try Self.status(agent).scheduler.loopPriority == "realtime (SCHED_RR 1)")
        #expect(agent.log.contains("probing loop runs at real-time priority (SCHED_RR 1)"))
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }

    /// Without CAP_SYS_NICE (gone from the bounding set before the agent starts) and with
    /// RLIMIT_RTPRIO 0, the loop cannot be real-time: a warning that names why and what would
    /// allow it, the status says so, and probing goes on at normal priority.
    @Test(.enabled(if: Tools.isRoot, "drops capabilities from the bounding set"))
    func refusedRealtimeWarnsAndProbesAtNormalPriority() throws {
        let agent = try RunningAgent(config: Self.oneTarget, launcher: [
            "/usr/bin/prlimit", "--rtprio=0:0", "/usr/bin/setpriv", "--bounding-set", "-sys_nice", "--",
        ])
        #expect(agent.waitForStatus(timeout: 20) { $0.sent("lo") >= 2 } != nil, "log:\n\(agent.log)")
        let loop = try #require(try Self.tasks(pid: agent.pid).first { $0.name == "probe-loop" })
        #expect(loop.policy == 0 && loop.slice == 300_000, "\(loop)")
        let why = "sched_setscheduler: Operation not permitted"
        #expect(agent.log.contains("scheduler.loop_priority is realtime, but the probing loop runs at normal priority (\(why))"),
                "log:\n\(agent.log)")
        #expect(agent.log.contains("it needs root or CAP_SYS_NICE, or RLIMIT_RTPRIO >= 1 (systemd: LimitRTPRIO=1 and RestrictRealtime=no)"))
        #expect(try Self.status(agent).scheduler.loopPriority == "normal (realtime refused: \(why))")
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }
}
