// cprobe_parse_icmp6: echo replies, checksum over the IPv6 pseudo-header, quoted errors.
import CProbe
import Testing

@Suite("cprobe_parse_icmp6")
struct ICMP6ParseTests {
    @Test("echo reply (129) -> OK, peer = src")
    func echoReplyOK() {
        let (r, p) = parseICMP6(echoReply(family: 6))
        #expect(r == OK)
        #expect(p.kind == ECHO_REPLY)
        #expect(p.family == 6)
        #expect(p.probe_kind == KIND_ICMP)
        #expect(p.token == Fx.token)
        #expect(p.nonce == Fx.nonce)
        #expect(p.has_nonce == 1)
        #expect(p.ident == Fx.ident)
        #expect(p.seq == Fx.seq)
        #expect(p.peerBytes == Fx.peer6)
        #expect(p.reporterBytes.allSatisfy { $0 == 0 })
    }

    @Test("checksum verification over the pseudo-header")
    func checksumVerify() {
        let good = echoReply(family: 6, pseudo6: (src: Fx.peer6, dst: Fx.us6))
        #expect(parseICMP6(good, src: Fx.peer6, dst: Fx.us6, verify: true).0 == OK)
        // Corrupt a byte outside the identity (send time): only the checksum can tell.
        var corrupt = good
        corrupt[30] ^= 0x10
        #expect(parseICMP6(corrupt, src: Fx.peer6, dst: Fx.us6, verify: true).0 == BAD_CHECKSUM)
        #expect(parseICMP6(corrupt, src: Fx.peer6, dst: Fx.us6, verify: false).0 == OK)
        // Right bytes, wrong pseudo-header (a different destination).
        #expect(parseICMP6(good, src: Fx.peer6, dst: Fx.router6, verify: true).0 == BAD_CHECKSUM)
        // verify requested without dst: the parser cannot check, so it does not.
        #expect(parseICMP6(corrupt, src: Fx.peer6, dst: nil, verify: true).0 == OK)
    }

    @Test("identifier or token disagreeing, or no magic -> FOREIGN")
    func foreign() {
        #expect(parseICMP6(echoReply(family: 6, ident: Fx.ident ^ 0x100)).0 == FOREIGN)
        #expect(parseICMP6(echoReply(family: 6, token: Fx.token ^ 1)).0 == FOREIGN)
        var magic = echoReply(family: 6)
        magic[9] = 0
        #expect(parseICMP6(magic).0 == FOREIGN)
    }

    @Test("datagram socket (kernel_ident): any identifier, the sequence must agree")
    func datagramIdentity() {
        let (r, p) = parseICMP6(echoReply(family: 6, ident: 0x0777), kernelIdent: true)
        #expect(r == OK)
        #expect(p.token == Fx.token)
        #expect(parseICMP6(echoReply(family: 6, seq: Fx.seq ^ 2), kernelIdent: true).0 == FOREIGN)
        #expect(parseICMP6(echoReply(family: 6, ident: 0x0777), kernelIdent: false).0 == FOREIGN)
        // An error whose quote stops before the token names no probe there.
        let short = icmp6(type: 1, code: 3, body: sentEcho6(quoteBytes: 8))
        #expect(parseICMP6(short, src: Fx.router6, kernelIdent: true).0 == TRUNCATED)
        #expect(parseICMP6(short, src: Fx.router6, kernelIdent: false).0 == OK)
    }

    @Test("echo request and other informational types -> FOREIGN", arguments: [UInt8(128), 0, 5, 127, 130, 133, 135, 255])
    func otherTypes(type: UInt8) {
        var b = echoReply(family: 6)
        b[0] = type
        #expect(parseICMP6(b).0 == FOREIGN)
    }

    @Test("every truncation of a reply or an error is rejected")
    func truncations() {
        let full = echoReply(family: 6)
        for n in 0..<full.count {
            #expect(parseICMP6(Array(full.prefix(n))).0 != OK, "reply length \(n)")
        }
        // An error is ours from 8 (ICMPv6) + 40 (IPv6) + 8 (quoted echo header) bytes on.
        let err = icmp6(type: 1, code: 3, body: sentEcho6())
        for n in 0..<56 {
            #expect(parseICMP6(Array(err.prefix(n)), src: Fx.router6).0 != OK, "error length \(n)")
        }
        for n in 56..<err.count {
            let (r, p) = parseICMP6(Array(err.prefix(n)), src: Fx.router6)
            #expect(r == OK)
            // The nonce is only claimed once all of magic | token | nonce was quoted.
            #expect(p.has_nonce == (n >= 56 + 12 ? 1 : 0), "error length \(n)")
        }
    }

    @Test("destination unreachable quoting our echo -> ICMP_ERROR, peer = quoted dst")
    func unreachQuotingEcho() {
        let err = icmp6(type: 1, code: 4, body: sentEcho6())
        let (r, p) = parseICMP6(err, src: Fx.router6, dst: Fx.us6, verify: true)
        #expect(r == OK)
        #expect(p.kind == ICMP_ERROR)
        #expect(p.family == 6)
        #expect(p.icmp_type == 1)
        #expect(p.icmp_code == 4)
        #expect(p.probe_kind == KIND_ICMP)
        #expect(p.peerBytes == Fx.peer6)
        #expect(p.reporterBytes == Fx.router6)
        #expect(p.has_nonce == 1)
        #expect(p.nonce == Fx.nonce)
        #expect(p.token == Fx.token)
        var bad = err
        bad[err.count - 1] ^= 1
        #expect(parseICMP6(bad, src: Fx.router6, dst: Fx.us6, verify: true).0 == BAD_CHECKSUM)
    }

    @Test("packet too big (2), time exceeded (3), parameter problem (4) are errors", arguments: [UInt8(2), 3, 4])
    func otherErrors(type: UInt8) {
        let (r, p) = parseICMP6(icmp6(type: type, body: sentEcho6()), src: Fx.router6)
        #expect(r == OK)
        #expect(p.kind == ICMP_ERROR)
        #expect(p.icmp_type == type)
    }

    @Test("error quoting our TCP SYN -> probe_kind TCP_SYN")
    func unreachQuotingSyn() {
        let (r, p) = parseICMP6(icmp6(type: 1, code: 4, body: sentSyn6()), src: Fx.router6)
        #expect(r == OK)
        #expect(p.probe_kind == KIND_TCP_SYN)
        #expect(p.token == Fx.isn)
        #expect(p.ident == Fx.sport)
        #expect(p.tcp_port == Fx.dport)
        #expect(p.peerBytes == Fx.peer6)
        #expect(parseICMP6(icmp6(type: 1, body: sentSyn6(sport: 1)), src: Fx.router6).0 == FOREIGN)
    }

    @Test("error with a non-IPv6 inner header -> MALFORMED; foreign quoted echo -> FOREIGN")
    func unreachBad() {
        var inner = sentEcho6()
        inner[0] = 0x45
        #expect(parseICMP6(icmp6(type: 1, body: inner), src: Fx.router6).0 == MALFORMED)
        var foreign = sentEcho6()
        put16(&foreign, 40 + 4, 7)
        #expect(parseICMP6(icmp6(type: 1, body: foreign), src: Fx.router6).0 == FOREIGN)
        var notRequest = sentEcho6()
        notRequest[40] = 8 // an ICMPv4 echo request type inside ICMPv6
        #expect(parseICMP6(icmp6(type: 1, body: notRequest), src: Fx.router6).0 == FOREIGN)
    }

    /// Regression, same gap as ICMPv4 once had (see ICMP4ParseTests.unreachQuotingUDP), and likelier here: the high
    /// byte of a UDP source port in 32768...33023 (Linux's default ephemeral range) is 128, the
    /// ICMPv6 echo request type.
    @Test("error quoting a UDP datagram is not ours (regression: parse_quoted)")
    func unreachQuotingUDP() {
        let udp = be16(0x8012) + be16(53) + be16(Fx.ident) + be16(Fx.seq) + [UInt8](repeating: 0x55, count: 24)
        let inner = ipv6(src: Fx.us6, dst: Fx.peer6, nextHeader: 17, payload: udp)
        #expect(parseICMP6(icmp6(type: 1, code: 4, body: inner), src: Fx.router6).0 == FOREIGN)
    }
}
