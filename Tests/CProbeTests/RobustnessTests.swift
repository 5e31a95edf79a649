// Bounded randomized robustness test of the four parsers: random buffers and mutations of
// valid packets. Deterministic (seeded); the libFuzzer target in CProbe/fuzz/ goes further.
import TestSupport
import CProbe
import Testing


/// Which parser a corpus packet belongs to, and where its nonce lives.
enum Parser: CaseIterable {
    case icmp4Raw, icmp4Dgram, icmp6, icmp6Verify, tcp4, tcp6

    func run(_ pkt: [UInt8]) -> (Int32, cprobe_parsed) {
        withExactBuffer(pkt) { run($0, $1) }
    }

    /// Straight to C on a caller-owned buffer: the randomized loop's hot path (debug builds).
    func run(_ p: UnsafePointer<UInt8>, _ n: Int) -> (Int32, cprobe_parsed) {
        var out = cprobe_parsed()
        var o = Fx.ours
        let r: Int32
        switch self {
        case .icmp4Raw: r = cprobe_parse_icmp4(p, n, 1, nil, &o, &out)
        case .icmp4Dgram: r = cprobe_parse_icmp4(p, n, 0, Addrs.peer4, &o, &out)
        case .icmp6: r = cprobe_parse_icmp6(p, n, Addrs.peer6, nil, 0, 0, &o, &out)
        case .icmp6Verify: r = cprobe_parse_icmp6(p, n, Addrs.peer6, Addrs.us6, 1, 0, &o, &out)
        case .tcp4: r = cprobe_parse_tcp4(p, n, &o, &out)
        case .tcp6: r = cprobe_parse_tcp6(p, n, Addrs.peer6, Addrs.us6, &o, &out)
        }
        return (r, out)
    }
}

/// Fixture addresses in stable C memory (allocated once, never freed).
enum Addrs {
    static func make(_ a: [UInt8]) -> UnsafePointer<UInt8> {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: a.count)
        p.initialize(from: a, count: a.count)
        return UnsafePointer(p)
    }
    nonisolated(unsafe) static let peer4 = make(Fx.peer4)
    nonisolated(unsafe) static let peer6 = make(Fx.peer6)
    nonisolated(unsafe) static let us6 = make(Fx.us6)
}

struct Seed {
    let parser: Parser
    let bytes: [UInt8]
    let nonce: UInt32
    /// Byte range on the wire that determines the nonce (payload nonce, or the TCP ack).
    let nonceRange: Range<Int>
    /// TCP: the secret is the ISN, which the parser reports as the token.
    var inToken = false

    /// What the parser made of the secret, if anything.
    func secret(_ p: cprobe_parsed) -> UInt32? { inToken ? p.token : p.has_nonce == 1 ? p.nonce : nil }
}

/// Valid packets with distinct nonces (none of which appears elsewhere in the packet).
func seedCorpus() -> [Seed] {
    let v4Err = icmp4Error(quoting: sentEcho4())
    let v6Err = icmp6(type: 1, code: 4, body: sentEcho6(), src: Fx.peer6)
    return [
        Seed(parser: .icmp4Raw, bytes: ipv4(src: Fx.peer4, dst: Fx.us4, proto: 1, payload: echoReply()),
             nonce: Fx.nonce, nonceRange: 36..<40),
        Seed(parser: .icmp4Dgram, bytes: echoReply(), nonce: Fx.nonce, nonceRange: 16..<20),
        Seed(parser: .icmp4Raw, bytes: v4Err, nonce: Fx.nonce, nonceRange: (20 + 8 + 20 + 16)..<(20 + 8 + 20 + 20)),
        Seed(parser: .icmp4Dgram, bytes: Array(v4Err[20...]), nonce: Fx.nonce, nonceRange: (8 + 20 + 16)..<(8 + 20 + 20)),
        Seed(parser: .icmp4Raw, bytes: icmp4Error(type: 11, code: 0, quoting: sentSyn4()),
             nonce: Fx.isn, nonceRange: (20 + 8 + 20 + 4)..<(20 + 8 + 20 + 8), inToken: true),
        Seed(parser: .icmp6, bytes: echoReply(family: 6), nonce: Fx.nonce, nonceRange: 16..<20),
        Seed(parser: .icmp6Verify, bytes: echoReply(family: 6), nonce: Fx.nonce, nonceRange: 16..<20),
        Seed(parser: .icmp6, bytes: v6Err, nonce: Fx.nonce, nonceRange: (8 + 40 + 16)..<(8 + 40 + 20)),
        Seed(parser: .icmp6Verify, bytes: icmp6(type: 3, body: sentSyn6(), src: Fx.peer6),
             nonce: Fx.isn, nonceRange: (8 + 40 + 4)..<(8 + 40 + 8), inToken: true),
        Seed(parser: .tcp4, bytes: synAck4(), nonce: Fx.isn, nonceRange: 28..<32, inToken: true),
        Seed(parser: .tcp4, bytes: synAck4(flags: RST | ACK), nonce: Fx.isn, nonceRange: 28..<32, inToken: true),
        Seed(parser: .tcp6, bytes: synAck6(), nonce: Fx.isn, nonceRange: 8..<12, inToken: true),
    ]
}

@Suite("Parser robustness")
struct RobustnessTests {
    @Test("the seed corpus is valid: every seed parses OK with its nonce")
    func seedsValid() {
        for (i, s) in seedCorpus().enumerated() {
            let (r, p) = s.parser.run(s.bytes)
            #expect(r == OK, "seed \(i)")
            #expect(s.secret(p) == s.nonce, "seed \(i)")
            #expect(s.nonceRange.upperBound <= s.bytes.count)
            if s.parser != .tcp4 && s.parser != .tcp6 {
                #expect(rd32(s.bytes, s.nonceRange.lowerBound) == s.nonce, "seed \(i)")
            } else {
                #expect(rd32(s.bytes, s.nonceRange.lowerBound) == s.nonce &+ 1, "seed \(i)")
            }
        }
    }

    @Test("200,000 random and mutated buffers through all four parsers")
    func randomized() {
        var rng = SeededRandom(seed: 0x5052_4231_F022_2024)
        let seeds = seedCorpus()
        var failures = 0
        var okCount = 0
        var nonceChanged = 0

        func check(_ r: Int32, _ p: cprobe_parsed, _ what: @autoclosure () -> String) {
            var bad: String?
            if !(0...4).contains(r) {
                bad = "verdict \(r) outside 0...4"
            } else if r == OK {
                okCount += 1
                if !(1...4).contains(p.kind) { bad = "OK with kind \(p.kind)" }
                else if p.family != 4 && p.family != 6 { bad = "OK with family \(p.family)" }
                else if p.has_nonce > 1 { bad = "OK with has_nonce \(p.has_nonce)" }
                else if p.probe_kind != KIND_ICMP && p.probe_kind != KIND_TCP_SYN { bad = "OK with probe_kind \(p.probe_kind)" }
            }
            if let bad, failures < 20 {
                failures += 1
                Issue.record("\(bad): \(what())")
            }
        }

        let iterations = 200_000
        let parsers = Parser.allCases
        let firstBytes: [UInt8] = [0x45, 0x46, 0x4f, 0, 3, 11, 129, 1, 3]
        let cap = 700
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
        defer { buf.deallocate() }
        buf.initialize(repeating: 0, count: cap)
        func fillRandom(from: Int, to: Int) {
            var i = from
            while i < to {
                var w = rng.next()
                for _ in 0..<8 where i < to {
                    buf[i] = UInt8(truncatingIfNeeded: w)
                    w >>= 8
                    i += 1
                }
            }
        }

        for i in 0..<iterations {
            if i % 2 == 0 {
                // Pure random bytes, lengths 0..600; half of them get a plausible first byte
                // (IPv4 header, ICMP type) so the parsers get past the first check.
                let n = rng.below(601)
                fillRandom(from: 0, to: n)
                if n > 0 && rng.below(2) == 0 {
                    buf[0] = firstBytes[rng.below(firstBytes.count)]
                    if n > 9 && buf[0] >= 0x45 { buf[9] = rng.below(2) == 0 ? 1 : 6 }
                }
                for parser in parsers {
                    let (r, p) = parser.run(buf, n)
                    check(r, p, "\(parser) random #\(i) len \(n)")
                }
            } else {
                // Mutate a valid packet: flip 1..4 bytes, sometimes truncate or extend,
                // and in a third of the cases deliberately change the nonce.
                let s = seeds[rng.below(seeds.count)]
                var n = s.bytes.count
                for k in 0..<n { buf[k] = s.bytes[k] }
                for _ in 0..<(1 + rng.below(4)) {
                    buf[rng.below(n)] ^= UInt8(1 + rng.below(255))
                }
                if rng.below(3) == 0 {
                    buf[s.nonceRange.lowerBound + rng.below(4)] ^= UInt8(1 + rng.below(255))
                }
                switch rng.below(4) {
                case 0: n = rng.below(n + 1)
                case 1:
                    let extra = rng.below(64)
                    fillRandom(from: n, to: n + extra)
                    n += extra
                default: break
                }
                let (r, p) = s.parser.run(buf, n)
                check(r, p, "\(s.parser) mutation #\(i)")
                // Also through the other parsers: they must cope with foreign shapes.
                for other in parsers where other != s.parser {
                    let (r2, p2) = other.run(buf, n)
                    check(r2, p2, "\(other) on \(s.parser) mutation #\(i)")
                }
                var nonceIntact = n >= s.nonceRange.upperBound
                if nonceIntact {
                    for k in s.nonceRange where buf[k] != s.bytes[k] { nonceIntact = false }
                }
                if !nonceIntact {
                    nonceChanged += 1
                    if r == OK && s.secret(p) == s.nonce && failures < 20 {
                        failures += 1
                        Issue.record("mutated nonce still yields OK with the original nonce: \(s.parser) #\(i) \(Array(UnsafeBufferPointer(start: buf, count: n)))")
                    }
                }
            }
        }
        #expect(failures == 0)
        // Sanity: the mutations really exercised the accepting paths and the nonce property.
        #expect(okCount > 1000)
        #expect(nonceChanged > 10_000)
    }
}
