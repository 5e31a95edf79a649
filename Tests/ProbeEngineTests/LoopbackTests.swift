import CProbe
import Foundation
import Testing
import ProbeAgentCore
@testable import ProbeEngine

@Suite("Engine on loopback (real raw sockets, real io_uring)")
struct LoopbackTests {
    @Test(.enabled(if: haveRaw, rawReason))
    func echoV4AndV6() throws {
        let engine = try testEngine()
        let targets = ["127.0.0.1", "127.0.0.2", "127.1.2.3", "::1"].map { IPAddress($0)! }
        let batch = targets.enumerated().map { ProbeRequest(cookie: UInt64($0), address: $1) }
        let results = engine.run(batch)
        #expect(results.count == 4)
        for r in results {
            #expect(r.status == .ok)
            #expect(r.rttNanoseconds > 0 && r.rttNanoseconds < 100_000_000)
            #expect(r.kind == .icmp)
        }
        #expect(engine.info.icmp4 == "raw" && engine.info.icmp6 == "raw")
    }

    @Test(.enabled(if: haveRaw, rawReason))
    func kernelTimestampsAreUsed() throws {
        let engine = try testEngine()
        // Stamping is switched on by deferred kernel work: the first replies may lack an RX stamp.
        _ = engine.run((0..<50).map { ProbeRequest(cookie: UInt64($0), address: v4("127.0.0.1")) })
        let results = engine.run((0..<50).map { ProbeRequest(cookie: UInt64(100 + $0), address: v4("127.0.0.1")) })
        #expect(results.filter { $0.clock == .kernel }.count >= 45)
        #expect(engine.stats.tx_timestamps >= 45)
    }

    @Test(.enabled(if: haveRaw, rawReason))
    func tenThousandProbesTenThousandResults() throws {
        let engine = try testEngine()
        let batch = (0..<10_000).map { i in
            ProbeRequest(cookie: UInt64(i) * 7 + 3, address: v4("127.0.\(i / 250).\(i % 250 + 1)"))
        }
        let results = engine.run(batch)
        #expect(results.count == 10_000)
        #expect(Set(results.map(\.cookie)) == Set(batch.map(\.cookie)))
        #expect(results.allSatisfy { $0.status == .ok })
        let s = engine.stats
        #expect(s.submitted == 10_000 && s.completed == 10_000)
        #expect(s.replies_matched == 10_000)
        #expect(s.unmatched_stale == 0 && s.unmatched_malformed == 0)
        #expect(s.in_flight == 0)
    }

    @Test(.enabled(if: haveRaw, rawReason))
    func tcpSynOpenAndRefused() throws {
        let engine = try testEngine()
        let open = try Listener()
        let closed = try closedPort()
        let results = engine.run([
            ProbeRequest(cookie: 1, address: v4("127.0.0.1"), kind: .tcpSyn, port: open.port),
            ProbeRequest(cookie: 2, address: v4("127.0.0.1"), kind: .tcpSyn, port: closed),
            ProbeRequest(cookie: 3, address: IPAddress("::1")!, kind: .tcpSyn, port: closed),
        ])
        let byCookie = Dictionary(uniqueKeysWithValues: results.map { ($0.cookie, $0) })
        #expect(byCookie[1]?.status == .ok)
        #expect(byCookie[2]?.status == .refused)
        #expect(byCookie[3]?.status == .refused)
    }

    @Test func tcpConnectOpenAndRefused() throws {
        var o = Engine.Options()
        o.keepCapabilities = true
        let engine = try Engine(options: o)
        let open = try Listener()
        let closed = try closedPort()
        let results = engine.run([
            ProbeRequest(cookie: 1, address: v4("127.0.0.1"), kind: .tcpConnect, port: open.port),
            ProbeRequest(cookie: 2, address: v4("127.0.0.1"), kind: .tcpConnect, port: closed),
        ])
        let byCookie = Dictionary(uniqueKeysWithValues: results.map { ($0.cookie, $0) })
        #expect(byCookie[1]?.status == .ok)
        #expect(byCookie[1]?.clock == .user)
        #expect(byCookie[2]?.status == .refused)
    }

    @Test(.enabled(if: haveRaw, rawReason))
    func fullTableIsBackPressureNotLoss() throws {
        let engine = try testEngine(maxInFlight: 1024)
        let batch = (0..<3000).map { ProbeRequest(cookie: UInt64($0), address: v4("127.0.0.\($0 % 200 + 1)")) }
        let accepted = engine.submit(batch)
        #expect(accepted == 1024)
        #expect(engine.stats.backpressure == UInt64(3000 - 1024))
        var got = engine.poll(timeoutMilliseconds: 2000).count
        for _ in 0..<100 where got < 1024 { got += engine.poll(timeoutMilliseconds: 100).count }
        #expect(got == 1024)
        let rest = engine.run(Array(batch[1024...]))
        #expect(rest.count == 3000 - 1024)
        #expect(rest.allSatisfy { $0.status == .ok })
    }

    @Test(.enabled(if: haveRaw, rawReason))
    func invalidRequestsCompleteAsErrors() throws {
        let engine = try testEngine()
        let results = engine.run([
            ProbeRequest(cookie: 1, address: v4("127.0.0.1"), kind: .tcpSyn, port: 0),
            ProbeRequest(cookie: 2, address: v4("127.0.0.1"), timeoutMilliseconds: 0),
        ])
        #expect(results.count == 2)
        #expect(results.allSatisfy { $0.status == .error && $0.errno == EINVAL })
        // Never sent: no send delay; their time is the refusal's, not a stale slot's (or 1970).
        #expect(results.allSatisfy { $0.sendDelayNanoseconds == nil })
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        #expect(results.allSatisfy { $0.sentAtNanoseconds + 5_000_000_000 > now && $0.sentAtNanoseconds <= now })
    }

    @Test(.enabled(if: haveRaw, rawReason))
    func sendDelayIsTheKernelsSendTimeMinusTheDueTime() throws {
        let engine = try testEngine()
        _ = engine.run((0..<50).map { ProbeRequest(cookie: UInt64($0), address: v4("127.0.0.1")) }) // stamping on
        let start = monotonicNanos()
        let overdue: UInt64 = 50_000_000
        var batch = (0..<50).map { i in
            ProbeRequest(cookie: UInt64(100 + i), address: v4("127.0.0.\(i + 1)"), dueNanoseconds: start - overdue)
        }
        batch.append(ProbeRequest(cookie: 200, address: v4("127.0.0.1"))) // no due time
        batch.append(ProbeRequest(cookie: 201, address: v4("127.0.0.1"), dueNanoseconds: start + 60_000_000_000))
        let results = Dictionary(uniqueKeysWithValues: engine.run(batch).map { ($0.cookie, $0) })
        let took = monotonicNanos() - start
        #expect(results.count == 52)
        let late = (100..<150).compactMap { results[UInt64($0)] }
        #expect(late.count == 50 && late.allSatisfy { $0.status == .ok })
        // Sent after `start`, and before the run returned.
        #expect(late.allSatisfy { ($0.sendDelayNanoseconds ?? 0) >= overdue && $0.sendDelayNanoseconds! <= overdue + took })
        #expect(late.filter { $0.clock == .kernel }.count >= 45) // the delay is taken from the TX stamp
        #expect(results[200]?.sendDelayNanoseconds == nil)
        #expect(results[201]?.sendDelayNanoseconds == 0) // sent before it was due: not late
    }
}
