// cprobe_parse_tcp4 / cprobe_parse_tcp6: SYN-ACK and RST answers to our half-open SYNs.
import CProbe
import Testing

/// Both families behind one interface so every case runs for v4 and v6.
enum TCPFamily: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case v4, v6
    var testDescription: String { rawValue }

    func packet(flags: UInt8 = SYN | ACK, dport: UInt16 = Fx.sport, ack: UInt32 = Fx.isn &+ 1,
                doffWords: Int? = nil) -> [UInt8] {
        switch self {
        case .v4: synAck4(flags: flags, dport: dport, ack: ack, doffWords: doffWords)
        case .v6: synAck6(flags: flags, dport: dport, ack: ack, doffWords: doffWords)
        }
    }

    func parse(_ pkt: [UInt8]) -> (Int32, cprobe_parsed) {
        switch self {
        case .v4: parseTCP4(pkt)
        case .v6: parseTCP6(pkt)
        }
    }

    var peer: [UInt8] { self == .v4 ? Fx.peer4 : Fx.peer6 }
    var family: UInt8 { self == .v4 ? 4 : 6 }
    /// Offset of the TCP header in `packet()`.
    var tcpOffset: Int { self == .v4 ? 20 : 0 }
}

@Suite("cprobe_parse_tcp4 / cprobe_parse_tcp6")
struct TCPParseTests {
    @Test("SYN-ACK to our port -> TCP_SYNACK, token = ack - 1", arguments: TCPFamily.allCases)
    func synAck(f: TCPFamily) {
        let (r, p) = f.parse(f.packet())
        #expect(r == OK)
        #expect(p.kind == TCP_SYNACK)
        #expect(p.family == f.family)
        #expect(p.probe_kind == KIND_TCP_SYN)
        #expect(p.has_nonce == 0)
        #expect(p.token == Fx.isn)
        #expect(p.tcp_port == Fx.dport)
        #expect(p.ident == Fx.sport)
        #expect(Array(p.peerBytes.prefix(f.peer.count)) == f.peer)
    }

    @Test("SYN-ACK with PSH or ECE/CWR bits is still a SYN-ACK", arguments: TCPFamily.allCases)
    func synAckExtraFlags(f: TCPFamily) {
        #expect(f.parse(f.packet(flags: SYN | ACK | PSH)).1.kind == TCP_SYNACK)
        #expect(f.parse(f.packet(flags: SYN | ACK | 0xc0)).1.kind == TCP_SYNACK)
    }

    @Test("ack = 0 wraps: token 0xffffffff", arguments: TCPFamily.allCases)
    func ackWrap(f: TCPFamily) {
        let (r, p) = f.parse(f.packet(ack: 0))
        #expect(r == OK)
        #expect(p.token == 0xffff_ffff)
    }

    @Test("RST+ACK -> TCP_RST", arguments: TCPFamily.allCases)
    func rstAck(f: TCPFamily) {
        let (r, p) = f.parse(f.packet(flags: RST | ACK))
        #expect(r == OK)
        #expect(p.kind == TCP_RST)
        #expect(p.token == Fx.isn)
        #expect(p.tcp_port == Fx.dport)
    }

    @Test("port range edges", arguments: TCPFamily.allCases)
    func portEdges(f: TCPFamily) {
        #expect(f.parse(f.packet(dport: Fx.sportBase)).0 == OK)
        #expect(f.parse(f.packet(dport: Fx.sportBase + 1023)).0 == OK)
        #expect(f.parse(f.packet(dport: Fx.sportBase - 1)).0 == FOREIGN)
        #expect(f.parse(f.packet(dport: Fx.sportBase + 1024)).0 == FOREIGN)
        #expect(f.parse(f.packet(dport: 0)).0 == FOREIGN)
        #expect(f.parse(f.packet(dport: 65535)).0 == FOREIGN)
    }

    @Test("flags that are not an answer to a SYN -> FOREIGN", arguments: TCPFamily.allCases)
    func foreignFlags(f: TCPFamily) {
        for (flags, name) in [(SYN, "SYN"), (ACK, "ACK"), (RST, "RST alone"), (0, "none"),
                              (SYN | ACK | FIN, "SYN|ACK|FIN"), (FIN | ACK, "FIN|ACK"), (PSH | ACK, "PSH|ACK")] {
            #expect(f.parse(f.packet(flags: flags)).0 == FOREIGN, "\(name)")
        }
    }

    @Test("data offset < 5 -> MALFORMED", arguments: TCPFamily.allCases)
    func doffSmall(f: TCPFamily) {
        for w in 0..<5 {
            #expect(f.parse(f.packet(doffWords: w)).0 == MALFORMED, "doff \(w)")
        }
    }

    @Test("data offset beyond the segment -> TRUNCATED", arguments: TCPFamily.allCases)
    func doffLarge(f: TCPFamily) {
        // Segment is 24 bytes (header + MSS): offsets 7..15 claim 28..60 bytes.
        for w in 7...15 {
            #expect(f.parse(f.packet(doffWords: w)).0 == TRUNCATED, "doff \(w)")
        }
        #expect(f.parse(f.packet(doffWords: 6)).0 == OK)
        #expect(f.parse(f.packet(doffWords: 5)).0 == OK) // MSS bytes become payload
    }

    @Test("every truncation is rejected", arguments: TCPFamily.allCases)
    func truncations(f: TCPFamily) {
        let full = f.packet()
        let minimum = f.tcpOffset + 24 // header + option as the data offset claims
        for n in 0..<minimum {
            var pkt = Array(full.prefix(n))
            if f == .v4 && n >= 4 {
                put16(&pkt, 2, UInt16(n)) // keep the IP total length consistent with the cut
            }
            #expect(f.parse(pkt).0 != OK, "length \(n)")
        }
    }

    @Test("IPv4: total length larger than the buffer -> TRUNCATED; smaller than IHL -> TRUNCATED")
    func totalLength() {
        let full = synAck4()
        #expect(parseTCP4(synAck4(totalLength: full.count + 1)).0 == TRUNCATED)
        #expect(parseTCP4(synAck4(totalLength: 0xffff)).0 == TRUNCATED)
        #expect(parseTCP4(synAck4(totalLength: 19)).0 == TRUNCATED)
        // Total length shorter than the buffer: trailing bytes (padding) are ignored ...
        #expect(parseTCP4(synAck4() + [0, 0, 0, 0]).0 == OK)
        // ... and a total length that cuts the TCP header makes it short.
        #expect(parseTCP4(synAck4(totalLength: 20 + 19)).0 == TRUNCATED)
        #expect(parseTCP4(synAck4(totalLength: 20 + 23)).0 == TRUNCATED) // doff 6 needs 24
    }

    @Test("IPv4: not TCP, bad version or IHL -> MALFORMED")
    func badIPv4() {
        let seg = Array(synAck4()[20...])
        #expect(parseTCP4(ipv4(src: Fx.peer4, dst: Fx.us4, proto: 17, payload: seg)).0 == MALFORMED)
        #expect(parseTCP4(ipv4(src: Fx.peer4, dst: Fx.us4, proto: 1, payload: seg)).0 == MALFORMED)
        var v = synAck4()
        v[0] = 0x65
        #expect(parseTCP4(v).0 == MALFORMED)
        var ihl = synAck4()
        ihl[0] = 0x44
        #expect(parseTCP4(ihl).0 == MALFORMED)
        // With IP options the TCP header moves; still parsed.
        let opt = ipv4(src: Fx.peer4, dst: Fx.us4, proto: 6, payload: seg, ihlWords: 7)
        #expect(parseTCP4(opt).0 == OK)
    }

    @Test("IPv6: peer comes from the src parameter")
    func v6Peer() {
        let (r, p) = parseTCP6(synAck6(), src: Fx.router6, dst: Fx.us6)
        #expect(r == OK)
        #expect(p.peerBytes == Fx.router6)
        let (r2, p2) = parseTCP6(synAck6(), src: nil, dst: nil)
        #expect(r2 == OK)
        #expect(p2.peerBytes.allSatisfy { $0 == 0 })
    }
}
