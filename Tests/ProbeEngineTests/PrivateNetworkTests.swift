import CProbe
import Foundation
import Testing
import ProbeAgentCore
import TestSupport
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
            foreignIdent[4] ^= 0x80 // identifier disagreeing with the payload's copy of the token
            var badChecksum = good
            badChecksum[3] ^= 0x01
            // Long enough for the kernel filter (magic and engine tag), short of the send time.
            let truncated = RawICMP.withChecksum(Array(RawICMP.reply(to: request).prefix(24)))
            for forged in [RawICMP.reply(to: wrongToken), RawICMP.reply(to: foreignIdent), badChecksum, truncated] {
                wire.send(forged)
            }
            // The right identity from another address, and ICMP errors that misquote the probe.
            try RawICMP(source: "127.0.0.2").send(good)
            let eight = Array(request.prefix(8))
            var otherSeq = eight
            otherSeq[7] ^= 0x01
            wire.send(RawICMP.error(type: 3, code: 1, quoting: RawICMP.quote(dst: [127, 0, 0, 9], proto: 1, transport: eight)))
            wire.send(RawICMP.error(type: 11, code: 0, quoting: RawICMP.quote(dst: [127, 0, 0, 1], proto: 1, transport: otherSeq)))
            var results = engine.poll(timeoutMilliseconds: 200)
            #expect(results.isEmpty, "a forged reply was attributed: \(results)")
            var s = engine.stats
            #expect(s.refused(.nonceMismatch) == 1)          // right identity, wrong nonce
            #expect(s.refused(.peerMismatch) == 1)           // right identity, from 127.0.0.2
            #expect(s.refused(.quoteDestinationMismatch) == 1)
            #expect(s.refused(.quoteIdentityMismatch) == 1)
            #expect(s.unmatched_stale == 4)
            #expect(s.unmatched_foreign >= 1)   // identifier disagreeing with the payload's token
            #expect(s.unmatched_malformed == 2) // bad checksum, truncated
            #expect(engine.inFlight == 1)

            wire.send(good)
            for _ in 0..<20 where results.isEmpty { results += engine.poll(timeoutMilliseconds: 100) }
            #expect(results.count == 1)
            #expect(results.first?.cookie == 1 && results.first?.status == .ok)

            wire.send(good) // duplicate
            _ = engine.poll(timeoutMilliseconds: 100)
            s = engine.stats
            #expect(s.refused(.noProbe) == 1)
            #expect(s.unmatched_stale == 5)
            #expect(s.replies_matched == 1)

            // A reply that arrives after the deadline belongs to nobody.
            #expect(engine.submit([ProbeRequest(cookie: 2, address: v4("127.0.0.1"), timeoutMilliseconds: 150)]) == 1)
            let late = try #require(wire.nextEchoRequest())
            var timedOut: [ProbeResult] = []
            for _ in 0..<20 where timedOut.isEmpty { timedOut += engine.poll(timeoutMilliseconds: 100) }
            #expect(timedOut.first?.status == .timeout)
            wire.send(RawICMP.reply(to: late))
            #expect(engine.poll(timeoutMilliseconds: 100).isEmpty)
            #expect(engine.stats.refused(.noProbe) == 2)
            #expect(engine.stats.unmatched_stale == 6)
            #expect(engine.stats.completed == 2)
        }
    }

    /// 2,000 echo requests as they leave: every one carries its own identifier and sequence
    /// (the payload's token), not one identifier for the process.
    @Test(.enabled(if: PrivateNetwork.available, "needs root to create a network namespace"))
    func identifiersOnTheWireAreKeyedPerProbe() async throws {
        try await PrivateNetwork.run { net in
            try net.set("net/ipv4/icmp_echo_ignore_all", "1")
            let engine = try testEngine()
            let wire = try RawICMP()
            var requests: [[UInt8]] = []
            for round in 0..<20 {
                let batch = (0..<100).map { ProbeRequest(cookie: UInt64(round * 100 + $0), address: v4("127.0.0.1"), timeoutMilliseconds: 100) }
                #expect(engine.submit(batch) == 100)
                while requests.count < (round + 1) * 100, let r = wire.nextEchoRequest(timeoutMs: 500) { requests.append(r) }
                var done = 0
                for _ in 0..<30 where done < 100 { done += engine.poll(timeoutMilliseconds: 50).count }
            }
            #expect(requests.count == 2000)
            let idents = requests.map { UInt16($0[4]) << 8 | UInt16($0[5]) }
            let tokens = requests.map { $0[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
            let payloadTokens = requests.map { $0[12..<16].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
            let nonces = requests.map { $0[16..<20].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
            #expect(tokens == payloadTokens)
            // 2,000 draws of 16 bits: about 30 repeated pairs by chance, so ~1,970 distinct.
            #expect(Set(idents).count >= 1900, "\(Set(idents).count) distinct identifiers")
            #expect(Set(tokens).count >= 1998 && Set(nonces).count >= 1998)
            let steps = zip(tokens.dropFirst(), tokens).map { $0 &- $1 }
            #expect(Set(steps).count >= 1997, "successive tokens step by a pattern")
        }
    }

    /// Keyed identifiers leave no range for the kernel filter; the payload's engine tag keeps
    /// each engine's replies out of the other's socket (the agent and `agentctl probe`).
    @Test(.enabled(if: PrivateNetwork.available, "needs root to create a network namespace"))
    func twoEnginesNeverReceiveEachOthersReplies() async throws {
        try await PrivateNetwork.run { _ in
            let a = try testEngine(), b = try testEngine()
            let batch = (0..<1000).map { ProbeRequest(cookie: UInt64($0), address: v4("127.0.\($0 / 250).\($0 % 250 + 1)")) }
            #expect(a.submit(batch) == 1000 && b.submit(batch) == 1000)
            var doneA = 0, doneB = 0
            for _ in 0..<100 where doneA < 1000 || doneB < 1000 {
                doneA += a.poll(timeoutMilliseconds: 10).count
                doneB += b.poll(timeoutMilliseconds: 10).count
            }
            for s in [a.stats, b.stats] {
                #expect(s.replies_matched == 1000)
                #expect(s.unmatched_stale == 0 && s.unmatched_foreign == 0, "the other engine's replies reached this one")
            }
        }
    }

    @Test(.enabled(if: PrivateNetwork.available, "needs root to create a network namespace"))
    func anICMPErrorQuotingEightBytesIsAttributedOnlyToItsProbe() async throws {
        try await PrivateNetwork.run { net in
            try net.set("net/ipv4/icmp_echo_ignore_all", "1")
            let engine = try testEngine()
            let wire = try RawICMP()
            #expect(engine.submit([ProbeRequest(cookie: 7, address: v4("127.0.0.1"), timeoutMilliseconds: 3000)]) == 1)
            let request = try #require(wire.nextEchoRequest())
            // RFC 792's minimum quote: IP header + the first 8 bytes, no nonce.
            wire.send(RawICMP.error(type: 3, code: 1, quoting: RawICMP.quote(dst: [127, 0, 0, 1], proto: 1, transport: Array(request.prefix(8)))))
            var results: [ProbeResult] = []
            for _ in 0..<20 where results.isEmpty { results += engine.poll(timeoutMilliseconds: 100) }
            #expect(results.count == 1)
            #expect(results.first?.cookie == 7 && results.first?.status == .unreachable)
            #expect(results.first?.icmpType == 3 && results.first?.icmpCode == 1)
            #expect(engine.stats.unmatched_stale == 0)
        }
    }

    /// The kernel's own RSTs are dropped (nft, this namespace only) so the SYN stays in flight
    /// while the test forges answers to it; only the one that matches every field counts.
    @Test(.enabled(if: PrivateNetwork.available, "needs root to create a network namespace"))
    func tcpAnswersMustMatchISNAddressAndPorts() async throws {
        try await PrivateNetwork.run { _ in
            let nft = try ChildProcess(["nft", "add table ip quiet; add chain ip quiet out { type filter hook output priority 0; }; "
                                        + "add rule ip quiet out ip ttl 64 tcp flags & rst == rst drop"])
            try #require(nft.wait(timeout: 10) == 0, "nft failed")
            let engine = try testEngine()
            let sniff = try RawICMP(proto: Int32(IPPROTO_TCP))
            let port = try closedPort()
            #expect(engine.submit([ProbeRequest(cookie: 3, address: v4("127.0.0.1"), kind: .tcpSyn, port: port,
                                                timeoutMilliseconds: 3000)]) == 1)
            let syn = try #require(sniff.nextSyn())
            let sport = UInt16(syn[0]) << 8 | UInt16(syn[1])
            let isn = syn[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let rst: UInt8 = 0x14
            sniff.send(RawICMP.tcp(sport: port, dport: sport, ack: isn &+ 2, flags: rst))      // wrong ack
            sniff.send(RawICMP.tcp(sport: port &+ 1, dport: sport, ack: isn &+ 1, flags: rst)) // wrong source port
            try RawICMP(source: "127.0.0.2", proto: Int32(IPPROTO_TCP))
                .send(RawICMP.tcp(sport: port, dport: sport, ack: isn &+ 1, flags: rst, from: [127, 0, 0, 2]))
            let icmp = try RawICMP()
            let quoted = Array(syn.prefix(8))
            var otherPort = quoted
            otherPort[3] ^= 0x01
            icmp.send(RawICMP.error(type: 3, code: 1, quoting: RawICMP.quote(dst: [127, 0, 0, 9], proto: 6, transport: quoted)))
            icmp.send(RawICMP.error(type: 3, code: 1, quoting: RawICMP.quote(dst: [127, 0, 0, 1], proto: 6, transport: otherPort)))
            var results = engine.poll(timeoutMilliseconds: 300)
            #expect(results.isEmpty, "a forged TCP answer was attributed: \(results)")
            let s = engine.stats
            #expect(s.refused(.tcpAckMismatch) == 1)
            #expect(s.refused(.tcpPortMismatch) == 2)
            #expect(s.refused(.peerMismatch) == 1)
            #expect(s.refused(.quoteDestinationMismatch) == 1)

            sniff.send(RawICMP.tcp(sport: port, dport: sport, ack: isn &+ 1, flags: rst))
            for _ in 0..<20 where results.isEmpty { results += engine.poll(timeoutMilliseconds: 100) }
            #expect(results.count == 1)
            #expect(results.first?.cookie == 3 && results.first?.status == .refused)
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
