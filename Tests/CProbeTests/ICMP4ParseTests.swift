// cprobe_parse_icmp4: echo replies and ICMP errors, raw (IP header) and datagram mode.
import CProbe
import Testing

@Suite("cprobe_parse_icmp4")
struct ICMP4ParseTests {
    /// Our echo reply as a raw socket sees it: IPv4 header from the peer + ICMP.
    static func reply(_ icmp: [UInt8] = echoReply(), ihlWords: Int = 5) -> [UInt8] {
        ipv4(src: Fx.peer4, dst: Fx.us4, proto: 1, payload: icmp, ihlWords: ihlWords)
    }

    @Test("our echo reply -> OK with token, nonce, peer = IP source")
    func echoReplyOK() {
        let (r, p) = parseICMP4(Self.reply())
        #expect(r == OK)
        #expect(p.kind == ECHO_REPLY)
        #expect(p.family == 4)
        #expect(p.probe_kind == KIND_ICMP)
        #expect(p.ident == Fx.ident)
        #expect(p.seq == Fx.seq)
        #expect(p.token == UInt32(Fx.ident) << 16 | UInt32(Fx.seq))
        #expect(p.token == Fx.token)
        #expect(p.has_nonce == 1)
        #expect(p.nonce == Fx.nonce)
        #expect(p.peer4 == Fx.peer4)
        #expect(p.reporterBytes.allSatisfy { $0 == 0 })
    }

    @Test("echo reply after IPv4 options (IHL 6 and 15)")
    func echoReplyWithOptions() {
        for words in [6, 15] {
            let (r, p) = parseICMP4(Self.reply(ihlWords: words))
            #expect(r == OK, "IHL \(words)")
            #expect(p.nonce == Fx.nonce)
        }
    }

    @Test("any identifier is ours when it agrees with the payload token (keyed, no range)")
    func anyIdentifier() {
        for token: UInt32 in [0, 0xffff, 0x1_0000, 0xffff_ffff] {
            let pkt = Self.reply(echoReply(ident: UInt16(token >> 16), seq: UInt16(token & 0xffff), token: token))
            let (r, p) = parseICMP4(pkt)
            #expect(r == OK, "token \(token)")
            #expect(p.token == token)
        }
    }

    @Test("identifier or sequence disagreeing with the payload token -> FOREIGN",
          arguments: [(Fx.ident ^ 1, Fx.seq), (Fx.ident, Fx.seq ^ 0x8000), (0, 0), (0xffff, 0xffff)])
    func headerDisagrees(ident: UInt16, seq: UInt16) {
        let (r, p) = parseICMP4(Self.reply(echoReply(ident: ident, seq: seq)))
        #expect(r == FOREIGN)
        #expect(p.has_nonce == 0)
    }

    @Test("wrong magic -> FOREIGN")
    func wrongMagic() {
        var icmp = echoReply()
        icmp[8] = UInt8(ascii: "X")
        #expect(parseICMP4(Self.reply(withChecksum(icmp, at: 2))).0 == FOREIGN)
    }

    @Test("payload token disagreeing with ident/seq -> FOREIGN")
    func tokenMismatch() {
        let (r, p) = parseICMP4(Self.reply(echoReply(token: Fx.token + 1)))
        #expect(r == FOREIGN)
        #expect(p.has_nonce == 0)
        #expect(parseICMP4(Self.reply(echoReply(token: Fx.token ^ 0x8000_0000))).0 == FOREIGN)
    }

    @Test("every truncation of a valid reply is rejected (raw and datagram)")
    func truncations() {
        let full = Self.reply()
        for n in 0..<full.count {
            let (r, _) = parseICMP4(Array(full.prefix(n)))
            #expect(r != OK, "raw length \(n)")
            #expect((0...4).contains(r))
        }
        let icmp = echoReply()
        for n in 0..<icmp.count {
            let (r, _) = parseICMP4(Array(icmp.prefix(n)), ipHeader: false, src: Fx.peer4)
            #expect(r != OK, "datagram length \(n)")
        }
    }

    @Test("bad checksum -> BAD_CHECKSUM")
    func badChecksum() {
        var pkt = Self.reply()
        pkt[20 + 2] ^= 0x01
        #expect(parseICMP4(pkt).0 == BAD_CHECKSUM)
        // A changed send time (not part of the identity) also breaks the checksum.
        var pkt2 = Self.reply()
        pkt2[pkt2.count - 1] ^= 0x80
        #expect(parseICMP4(pkt2).0 == BAD_CHECKSUM)
    }

    @Test("bad IP version or IHL -> MALFORMED")
    func badIPHeader() {
        var v6 = Self.reply()
        v6[0] = 0x65
        #expect(parseICMP4(v6).0 == MALFORMED)
        var v0 = Self.reply()
        v0[0] = 0x05
        #expect(parseICMP4(v0).0 == MALFORMED)
        for ihl: UInt8 in [0, 1, 4] {
            var p = Self.reply()
            p[0] = 0x40 | ihl
            #expect(parseICMP4(p).0 == MALFORMED, "IHL \(ihl)")
        }
        // IHL pointing past the end of the buffer.
        var long = Self.reply()
        long[0] = 0x4f // 60 bytes, buffer has 52
        #expect(long.count < 60)
        #expect(parseICMP4(long).0 == MALFORMED)
    }

    @Test("non-ICMP protocol -> MALFORMED", arguments: [UInt8(6), 17, 58, 0])
    func nonICMP(proto: UInt8) {
        let pkt = ipv4(src: Fx.peer4, dst: Fx.us4, proto: proto, payload: echoReply())
        #expect(parseICMP4(pkt).0 == MALFORMED)
    }

    @Test("echo request and other non-error types -> FOREIGN",
          arguments: [UInt8(8), 5, 9, 10, 13, 14, 255])
    func otherTypes(type: UInt8) {
        var icmp = echoReply()
        icmp[0] = type
        let pkt = Self.reply(withChecksum(icmp, at: 2))
        #expect(parseICMP4(pkt).0 == FOREIGN)
        #expect(parseICMP4(withChecksum(icmp, at: 2), ipHeader: false, src: Fx.peer4).0 == FOREIGN)
    }

    // MARK: datagram mode

    @Test("datagram mode: packet starts at ICMP header, peer = src parameter")
    func datagram() {
        let (r, p) = parseICMP4(echoReply(), ipHeader: false, src: Fx.peer4)
        #expect(r == OK)
        #expect(p.kind == ECHO_REPLY)
        #expect(p.peer4 == Fx.peer4)
        #expect(p.token == Fx.token)
        #expect(p.nonce == Fx.nonce)
        #expect(p.has_nonce == 1)
        // The same bytes with an IP header in front are not an ICMP header.
        #expect(parseICMP4(Self.reply(), ipHeader: false, src: Fx.peer4).0 != OK)
        // No src: still parses, peer unknown (zero).
        let (r2, p2) = parseICMP4(echoReply(), ipHeader: false, src: nil)
        #expect(r2 == OK)
        #expect(p2.peerBytes.allSatisfy { $0 == 0 })
    }

    @Test("datagram mode: the identifier is the kernel's; sequence or magic wrong -> FOREIGN")
    func datagramIdentity() {
        let (r, p) = parseICMP4(echoReply(ident: 1), ipHeader: false, src: Fx.peer4)
        #expect(r == OK)
        #expect(p.token == Fx.token)
        #expect(parseICMP4(echoReply(seq: Fx.seq ^ 1), ipHeader: false, src: Fx.peer4).0 == FOREIGN)
        var bad = echoReply()
        bad[11] ^= 0xff
        #expect(parseICMP4(withChecksum(bad, at: 2), ipHeader: false, src: Fx.peer4).0 == FOREIGN)
    }

    // MARK: ICMP errors

    @Test("destination unreachable quoting our echo -> ICMP_ERROR with the quoted identity")
    func unreachQuotingEcho() {
        let pkt = icmp4Error(type: 3, code: 1, quoting: sentEcho4())
        let (r, p) = parseICMP4(pkt)
        #expect(r == OK)
        #expect(p.kind == ICMP_ERROR)
        #expect(p.family == 4)
        #expect(p.icmp_type == 3)
        #expect(p.icmp_code == 1)
        #expect(p.probe_kind == KIND_ICMP)
        #expect(p.peer4 == Fx.peer4)
        #expect(p.reporter4 == Fx.router4)
        #expect(p.has_nonce == 1)
        #expect(p.nonce == Fx.nonce)
        #expect(p.token == Fx.token)
        #expect(p.ident == Fx.ident)
        #expect(p.seq == Fx.seq)
    }

    @Test("time exceeded (11) and parameter problem (12) are errors too", arguments: [UInt8(11), 12])
    func otherErrors(type: UInt8) {
        let (r, p) = parseICMP4(icmp4Error(type: type, code: 0, quoting: sentEcho4()))
        #expect(r == OK)
        #expect(p.kind == ICMP_ERROR)
        #expect(p.icmp_type == type)
    }

    @Test("error quoting only 8 bytes of our echo -> OK without nonce, token from the header")
    func unreachQuoting8() {
        let (r, p) = parseICMP4(icmp4Error(quoting: sentEcho4(quoteBytes: 8)))
        #expect(r == OK)
        #expect(p.kind == ICMP_ERROR)
        #expect(p.has_nonce == 0)
        #expect(p.token == Fx.token)
        #expect(p.peer4 == Fx.peer4)
        // Cut inside the payload, before the nonce ends: header only, still no nonce.
        let (r19, p19) = parseICMP4(icmp4Error(quoting: sentEcho4(quoteBytes: 19)))
        #expect(r19 == OK && p19.has_nonce == 0)
    }

    @Test("error quoting fewer than 8 bytes -> TRUNCATED; inner header bad -> MALFORMED")
    func unreachShort() {
        #expect(parseICMP4(icmp4Error(quoting: sentEcho4(quoteBytes: 7))).0 == TRUNCATED)
        #expect(parseICMP4(icmp4Error(quoting: Array(sentEcho4().prefix(19)))).0 == TRUNCATED)
        var inner = sentEcho4()
        inner[0] = 0x45 ^ 0x30 // version 7
        #expect(parseICMP4(icmp4Error(quoting: inner)).0 == MALFORMED)
    }

    @Test("error quoting a foreign echo or with bad checksum is rejected")
    func unreachForeign() {
        var inner = sentEcho4()
        put16(&inner, 20 + 4, 0x1234) // identifier disagreeing with the quoted payload's token
        #expect(parseICMP4(icmp4Error(quoting: inner)).0 == FOREIGN)
        var reqType = sentEcho4()
        reqType[20] = 0 // quoted packet is an echo *reply*, not our request
        #expect(parseICMP4(icmp4Error(quoting: reqType)).0 == FOREIGN)
        var bad = icmp4Error(quoting: sentEcho4())
        bad[20 + 2] ^= 0x40
        #expect(parseICMP4(bad).0 == BAD_CHECKSUM)
    }

    @Test("error quoting our TCP SYN -> probe_kind TCP_SYN, token = the ISN")
    func unreachQuotingSyn() {
        let (r, p) = parseICMP4(icmp4Error(type: 3, code: 3, quoting: sentSyn4()))
        #expect(r == OK)
        #expect(p.kind == ICMP_ERROR)
        #expect(p.probe_kind == KIND_TCP_SYN)
        #expect(p.token == Fx.isn)
        #expect(p.has_nonce == 0)
        #expect(p.ident == Fx.sport)
        #expect(p.tcp_port == Fx.dport)
        #expect(p.peer4 == Fx.peer4)
        #expect(p.reporter4 == Fx.router4)
        // RFC 792 minimum quote: IP header + 8 bytes is enough for the TCP identity.
        let (r8, p8) = parseICMP4(icmp4Error(quoting: Array(sentSyn4().prefix(28))))
        #expect(r8 == OK)
        #expect(p8.token == Fx.isn)
        #expect(parseICMP4(icmp4Error(quoting: Array(sentSyn4().prefix(27)))).0 == TRUNCATED)
    }

    @Test("error quoting a TCP SYN from a foreign port -> FOREIGN",
          arguments: [Fx.sportBase &- 1, Fx.sportBase + 1024, 80, 65535])
    func unreachQuotingForeignSyn(sport: UInt16) {
        #expect(parseICMP4(icmp4Error(quoting: sentSyn4(sport: sport))).0 == FOREIGN)
    }

    @Test("error in datagram mode: reporter = src parameter, no checksum needed")
    func unreachDatagram() {
        let icmp = icmp4(type: 11, code: 0, body: sentEcho4())
        let (r, p) = parseICMP4(icmp, ipHeader: false, src: Fx.router4)
        #expect(r == OK)
        #expect(p.kind == ICMP_ERROR)
        #expect(p.reporter4 == Fx.router4)
        #expect(p.peer4 == Fx.peer4)
        #expect(p.nonce == Fx.nonce)
        #expect(p.token == Fx.token)
        // The kernel owns a datagram socket's identifier, so a quote without the payload's
        // token names no probe.
        let short = icmp4(type: 11, code: 0, body: sentEcho4(quoteBytes: 8))
        #expect(parseICMP4(short, ipHeader: false, src: Fx.router4).0 == TRUNCATED)
    }

    /// Regression: parse_quoted() once treated any quoted protocol other than TCP as ICMP: a quoted UDP
    /// datagram whose source port's high byte is 8 was claimed as one of our echo requests,
    /// token from (length, checksum), has_nonce = 0 (which slot_match() accepts for ICMP
    /// errors when token and address agree).
    @Test("error quoting a UDP datagram is not ours (regression: parse_quoted)")
    func unreachQuotingUDP() {
        // UDP: sport 0x08ab (2219; high byte = ICMP echo request type), dport 53,
        // length = our identifier, checksum = our sequence number.
        let udp = be16(0x08ab) + be16(53) + be16(Fx.ident) + be16(Fx.seq) + [UInt8](repeating: 0x55, count: 24)
        let inner = ipv4(src: Fx.us4, dst: Fx.peer4, proto: 17, payload: udp)
        let (r, _) = parseICMP4(icmp4Error(type: 3, code: 3, quoting: inner))
        #expect(r == FOREIGN)
    }

    /// Regression: a quoted echo whose payload is present but contradicts us (magic + a different
    /// token, or no magic at all) once came back OK with has_nonce = 0 — the same answer as an 8-byte quote,
    /// which slot_match() accepts on token + address alone. The echo-reply path returns FOREIGN
    /// for the same payloads; an error whose quote proves "not ours" should too.
    @Test("error quoting an echo whose payload contradicts ident/seq (regression: parse_quoted)")
    func unreachQuotingContradictingPayload() {
        // Payload token 0x4003_1235, ident/seq say 0x4003_1234.
        let mismatch = ipv4(src: Fx.us4, dst: Fx.peer4, proto: 1, payload: buildEcho(family: 4, token: Fx.token + 1))
        #expect(parseICMP4(icmp4Error(quoting: mismatch)).0 == FOREIGN)
        // Our identifier, someone else's 24-byte payload (no magic).
        var other = buildEcho(family: 4)
        other.replaceSubrange(8..<32, with: [UInt8](repeating: 0x61, count: 24))
        let foreign = ipv4(src: Fx.us4, dst: Fx.peer4, proto: 1, payload: withChecksum(other, at: 2))
        #expect(parseICMP4(icmp4Error(quoting: foreign)).0 == FOREIGN)
    }
}
