import Foundation
import Testing

/// The engine is created on the agent's main thread (before capabilities are dropped) and
/// driven from the probing loop's thread. io_uring runs a request's completion work on the
/// thread that submitted it, so the receives must be armed from the loop thread: armed on the
/// main thread, every reply woke it to contend for the ring's lock (17% of the agent's CPU at
/// 100k targets).
@Suite("probe-agent's main thread stays asleep while probing", .serialized)
struct EngineThreadTests {
    @Test(.enabled(if: Tools.isRoot, "needs CAP_NET_RAW for raw ICMP"), .timeLimit(.minutes(4)))
    func repliesDoNotWakeTheMainThread() throws {
        let targets = (1...200).map { "127.0.3.\($0)" }.joined(separator: ", ")
        let agent = try RunningAgent(config: """
            monitors:
              - id: lo
                protocol: icmp
                cadence: 100ms
                timeout: 50ms
                targets: [\(targets)]
            """)
        #expect(agent.waitForStatus(timeout: 20) { $0.sent("lo") >= 2_000 } != nil, "log:\n\(agent.log)")
        let before = try Self.contextSwitches(pid: agent.pid, tid: agent.pid)
        let sent = try agent.status().sent("lo")
        Thread.sleep(forTimeInterval: 3)
        let probes = try agent.status().sent("lo") - sent
        let woken = try Self.contextSwitches(pid: agent.pid, tid: agent.pid) - before
        #expect(probes >= 3_000, "2,000 probes/s for 3 s")
        // Signals, reloads and the status writes may wake it; thousands of replies must not.
        #expect(woken < 100, "main thread woke \(woken) times for \(probes) probes")
        #expect(agent.stop() == 0, "log:\n\(agent.log)")
    }

    /// Voluntary + involuntary context switches of one thread, from /proc.
    static func contextSwitches(pid: pid_t, tid: pid_t) throws -> Int {
        let text = try String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8)
        return text.split(separator: "\n").filter { $0.contains("ctxt_switches:") }
            .compactMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }.reduce(0, +)
    }
}
