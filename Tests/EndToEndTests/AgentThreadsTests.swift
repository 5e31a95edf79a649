import Foundation
import Testing

/// The agent's busy threads as the kernel sees them: named (so `top -H` and perf tell them
/// apart), the probing loop at the default priority with a short scheduling slice, and the
/// shipper and NIO threads at nice 10 below it (ThreadPriority.swift).
@Suite("probe-agent's threads: names, priorities, the loop's slice", .serialized, .timeLimit(.minutes(2)))
struct AgentThreadsTests {
    struct Task { let name: String, nice: Int, slice: Int? }

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
            return Task(name: name, nice: Int(fields[16])!, slice: slice)
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
        #expect(loop.nice == 0)
        #expect(loop.slice == 300_000, "the loop asks for a 0.3 ms slice (Linux 6.12+)")
        let ship = try #require(tasks.first { $0.name == "probe-ship" }, "threads: \(tasks.map(\.name))")
        #expect(ship.nice == 10)
        let nio = tasks.filter { $0.name.hasPrefix("NIO-") }
        #expect(!nio.isEmpty && nio.allSatisfy { $0.nice == 10 }, "\(nio.map { ($0.name, $0.nice) })")
        #expect(tasks.filter { $0.name != "probe-loop" }.allSatisfy { $0.slice != 300_000 }, "only the loop's slice is short")
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }
}
