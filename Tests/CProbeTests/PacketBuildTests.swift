// cprobe_build_echo / cprobe_build_tcp_syn / cprobe_checksum: the bytes we put on the wire.
import CProbe
import Testing

@Suite("Packet builders")
struct PacketBuildTests {
    @Test("cprobe_checksum: RFC 1071 example, odd length, running sum")
    func checksumBasics() {
        // RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum = ~ddf2 = 220d.
        #expect(checksum([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]) == 0x220d)
        // Odd length: the last byte is the high byte of a zero-padded word.
        #expect(checksum([0x12]) == ~UInt16(0x1200))
        #expect(checksum([]) == 0xffff)
        // A running partial sum equals summing the concatenation (on an even split).
        let a: [UInt8] = [1, 2, 3, 4], b: [UInt8] = [5, 6, 7, 8, 9]
        let partial = UInt32(~checksum(a))
        #expect(checksum(b, sum: partial) == checksum(a + b))
    }

    @Test("echo v4: 32 bytes, type 8, checksum verifies, identity at the documented offsets")
    func echoV4() {
        let e = buildEcho(family: 4)
        #expect(e.count == echoLen)
        #expect(e.count == Int(CPROBE_ECHO_LEN))
        #expect(e[0] == 8)
        #expect(e[1] == 0)
        #expect(checksum(e) == 0)
        #expect(rd16(e, 4) == Fx.ident)
        #expect(rd16(e, 6) == Fx.seq)
        #expect(rd32(e, 8) == CPROBE_MAGIC)
        #expect(Array(e[8..<12]) == Array("PRB1".utf8))
        #expect(rd32(e, 12) == Fx.token)
        #expect(rd32(e, 16) == Fx.nonce)
        #expect(rd32(e, 20) == Fx.tag)
        #expect(UInt64(rd32(e, 24)) << 32 | UInt64(rd32(e, 28)) == Fx.sendNs)
    }

    @Test("echo v6: type 128, checksum left to the kernel")
    func echoV6() {
        let e = buildEcho(family: 6)
        #expect(e.count == echoLen)
        #expect(e[0] == 128)
        #expect(e[1] == 0)
        #expect(rd16(e, 2) == 0)
        #expect(rd16(e, 4) == Fx.ident)
        #expect(rd16(e, 6) == Fx.seq)
        #expect(rd32(e, 8) == CPROBE_MAGIC)
        #expect(rd32(e, 12) == Fx.token)
        #expect(rd32(e, 16) == Fx.nonce)
    }

    @Test("echo: rejects a short buffer and an unknown family, writes nothing past 32 bytes")
    func echoRejects() {
        var small = [UInt8](repeating: 0xAA, count: echoLen - 1)
        let n = small.withUnsafeMutableBufferPointer {
            cprobe_build_echo($0.baseAddress, $0.count, 4, 1, 2, 3, 4, 5, 6)
        }
        #expect(n == 0)
        #expect(small.allSatisfy { $0 == 0xAA })
        var buf = [UInt8](repeating: 0xAA, count: 64)
        let m = buf.withUnsafeMutableBufferPointer {
            cprobe_build_echo($0.baseAddress, $0.count, 5, 1, 2, 3, 4, 5, 6)
        }
        #expect(m == 0)
        _ = buf.withUnsafeMutableBufferPointer {
            cprobe_build_echo($0.baseAddress, $0.count, 4, 1, 2, 3, 4, 5, 6)
        }
        #expect(buf[echoLen...].allSatisfy { $0 == 0xAA })
    }

    @Test("TCP SYN v4: ports, ISN, data offset 6, SYN only, MSS option, pseudo-header checksum")
    func synV4() {
        let s = buildSyn(family: 4, src: Fx.us4, dst: Fx.peer4)
        #expect(s.count == tcpSynLen)
        #expect(s.count == Int(CPROBE_TCP_SYN_LEN))
        #expect(rd16(s, 0) == Fx.sport)
        #expect(rd16(s, 2) == Fx.dport)
        #expect(rd32(s, 4) == Fx.isn)
        #expect(rd32(s, 8) == 0) // ack
        #expect(s[12] >> 4 == 6)
        #expect(s[13] == SYN)
        #expect(rd16(s, 14) != 0) // window
        #expect(Array(s[20..<24]) == [2, 4, 0x05, 0xb4]) // MSS 1460
        #expect(verifyWithPseudo(s, src: Fx.us4, dst: Fx.peer4, proto: 6) == 0)
        // ... and not over some other pair of addresses.
        #expect(verifyWithPseudo(s, src: Fx.us4, dst: Fx.router4, proto: 6) != 0)
    }

    @Test("TCP SYN v6: checksum verifies over the IPv6 pseudo-header")
    func synV6() {
        let s = buildSyn(family: 6, src: Fx.us6, dst: Fx.peer6)
        #expect(s.count == tcpSynLen)
        #expect(rd16(s, 0) == Fx.sport)
        #expect(rd32(s, 4) == Fx.isn)
        #expect(s[12] >> 4 == 6)
        #expect(s[13] == SYN)
        #expect(verifyWithPseudo(s, src: Fx.us6, dst: Fx.peer6, proto: 6) == 0)
    }

    @Test("TCP SYN: no addresses leaves the checksum zero; short buffer / bad family rejected")
    func synEdges() {
        var buf = [UInt8](repeating: 0xAA, count: 64)
        let n = buf.withUnsafeMutableBufferPointer {
            cprobe_build_tcp_syn($0.baseAddress, $0.count, 4, nil, nil, 1, 2, 3)
        }
        #expect(n == tcpSynLen)
        #expect(rd16(buf, 16) == 0)
        #expect(buf[tcpSynLen...].allSatisfy { $0 == 0xAA })
        var small = [UInt8](repeating: 0, count: tcpSynLen - 1)
        #expect(small.withUnsafeMutableBufferPointer {
            cprobe_build_tcp_syn($0.baseAddress, $0.count, 4, nil, nil, 1, 2, 3)
        } == 0)
        #expect(buf.withUnsafeMutableBufferPointer {
            cprobe_build_tcp_syn($0.baseAddress, $0.count, 0, nil, nil, 1, 2, 3)
        } == 0)
    }

    @Test("fixture builders produce packets whose checksums verify")
    func fixturesSelfCheck() {
        let ip = ipv4(src: Fx.peer4, dst: Fx.us4, proto: 1, payload: echoReply())
        #expect(checksum(Array(ip[0..<20])) == 0)
        #expect(checksum(Array(ip[20...])) == 0)
        let r6 = echoReply(family: 6)
        #expect(verifyWithPseudo(r6, src: Fx.peer6, dst: Fx.us6, proto: 58) == 0)
        let sa = synAck6()
        #expect(verifyWithPseudo(sa, src: Fx.peer6, dst: Fx.us6, proto: 6) == 0)
    }
}
