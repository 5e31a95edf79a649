import CProbe
import Foundation
import Testing
@testable import ProbeEngine

/// Probes inside a network namespace of the test's own, where echo replies can be switched
/// off and forged: timeouts, hostile replies, the unprivileged fallback.
@Suite("Engine in a private network namespace")
struct PrivateNetworkTests {
    @Test(.enabled(if: PrivateNetwork.available, "needs root to create a network namespace"))
    func silentHostTimesOutAtItsDeadline() async throws {
        try await PrivateNetwork.run { net in
            try net.set("net/ipv4/icmp_echo_ignore_all", "1")
            let engine = try testEngine()
            let start = monotonicMs()
            let results = engine.run([ProbeRequest(cookie: 9, address: v4("127.0.0.1"), timeoutMilliseconds: 300)])
            let elapsed = monotonicMs() - start
            #expect(results.count == 1)
            #expect(results.first?.status == .timeout)
            #expect(elapsed >= 300 && elapsed < 1000, "took \(elapsed) ms for a 300 ms deadline")
        }
    }

    @Test(.enabled(if: PrivateNetwork.available, "needs root to create a network namespace"))
    func forgedAndLateRepliesAreNeverAttributed() async throws {
        try await PrivateNetwork.run { net in
            try net.set("net/ipv4/icmp_echo_ignore_all", "1")
            let engine = try testEngine()
            let wire = try RawICMP()
            #expect(engine.submit([ProbeRequest(cookie: 1, address: v4("127.0.0.1"), timeoutMilliseconds: 3000)]) == 1)
            let request = try #require(wire.nextEchoRequest())
            let good = RawICMP.reply(to: request)

            var wrongToken = request
            wrongToken[19] ^= 0xff // last byte of the nonce
            var foreignIdent = request
            foreignIdent[4] ^= 0x80 // identifier outside our range: the kernel filter drops it
            var badChecksum = good
            badChecksum[3] ^= 0x01
            let truncated = RawICMP.withChecksum(Array(RawICMP.reply(to: request).prefix(16)))
            for forged in [RawICMP.reply(to: wrongToken), RawICMP.reply(to: foreignIdent), badChecksum, truncated] {
                wire.send(forged)
            }
            var results = engine.poll(timeoutMilliseconds: 200)
            #expect(results.isEmpty, "a forged reply was attributed: \(results)")
            var s = engine.stats
            #expect(s.unmatched_stale == 1)     // right slot, wrong token
            #expect(s.unmatched_malformed == 2) // bad checksum, truncated
            #expect(engine.inFlight == 1)

            wire.send(good)
            for _ in 0..<20 where results.isEmpty { results += engine.poll(timeoutMilliseconds: 100) }
            #expect(results.count == 1)
            #expect(results.first?.cookie == 1 && results.first?.status == .ok)

            wire.send(good) // duplicate
            _ = engine.poll(timeoutMilliseconds: 100)
            s = engine.stats
            #expect(s.unmatched_stale == 2)
            #expect(s.replies_matched == 1)

            // A reply that arrives after the deadline belongs to nobody.
            #expect(engine.submit([ProbeRequest(cookie: 2, address: v4("127.0.0.1"), timeoutMilliseconds: 150)]) == 1)
            let late = try #require(wire.nextEchoRequest())
            var timedOut: [ProbeResult] = []
            for _ in 0..<20 where timedOut.isEmpty { timedOut += engine.poll(timeoutMilliseconds: 100) }
            #expect(timedOut.first?.status == .timeout)
            wire.send(RawICMP.reply(to: late))
            #expect(engine.poll(timeoutMilliseconds: 100).isEmpty)
            #expect(engine.stats.unmatched_stale == 3)
            #expect(engine.stats.completed == 2)
        }
    }

    @Test(.enabled(if: PrivateNetwork.available, "needs root to create a network namespace"))
    func unprivilegedFallbackUsesPingSockets() async throws {
        try await PrivateNetwork.run { net in
            // Default range "1 0" allows no group: the engine must say what to do.
            try net.set("net/ipv4/ping_group_range", "1 0")
            #expect {
                _ = try testEngine(unprivileged: true)
            } throws: { error in
                "\(error)".contains("ping_group_range") && "\(error)".contains("cap_net_raw")
            }
            try net.set("net/ipv4/ping_group_range", "0 2147483647")
            let engine = try testEngine(unprivileged: true)
            #expect(engine.info.icmp4 == "datagram")
            #expect(engine.info.tcpSyn4 == false)
            let results = engine.run([
                ProbeRequest(cookie: 1, address: v4("127.0.0.1")),
                ProbeRequest(cookie: 2, address: v4("127.0.0.1"), kind: .tcpSyn, port: 80),
            ])
            let byCookie = Dictionary(uniqueKeysWithValues: results.map { ($0.cookie, $0) })
            #expect(byCookie[1]?.status == .ok)
            #expect(byCookie[2]?.status == .error && byCookie[2]?.errno == EPERM)
        }
    }
}
