// What the path features read from and write into packets: the MTU of "fragmentation needed"
// / "packet too big", and the constant checksum of a flow's echo requests (Paris traceroute).
import CProbe
import Testing

@Suite("ICMP MTU fields and flow checksums")
struct PathFieldsTests {
    @Test("ICMPv4 fragmentation needed (3/4) carries the next-hop MTU; other errors none")
    func fragNeededMTU4() {
        let err = ipv4(src: Fx.router4, dst: Fx.us4, proto: 1,
                       payload: icmp4(type: 3, code: 4, rest: [0, 0] + be16(1280), body: sentEcho4()))
        let (r, p) = parseICMP4(err)
        #expect(r == OK)
        #expect(p.icmp_type == 3 && p.icmp_code == 4)
        #expect(p.mtu == 1280)
        let (r2, p2) = parseICMP4(icmp4Error(type: 11, code: 0, quoting: sentEcho4()))
        #expect(r2 == OK)
        #expect(p2.icmp_type == 11 && p2.mtu == 0, "time exceeded has no MTU")
        let (_, p3) = parseICMP4(ipv4(src: Fx.router4, dst: Fx.us4, proto: 1,
                                      payload: icmp4(type: 3, code: 1, rest: [0, 0] + be16(1280), body: sentEcho4())))
        #expect(p3.mtu == 0, "only code 4 has the MTU field")
    }

    @Test("ICMPv6 packet too big (type 2) carries the MTU; time exceeded (type 3) none")
    func packetTooBigMTU6() {
        let (r, p) = parseICMP6(icmp6(type: 2, rest: be32(1400), body: sentEcho6()), src: Fx.router6)
        #expect(r == OK)
        #expect(p.icmp_type == 2 && p.mtu == 1400)
        let (r2, p2) = parseICMP6(icmp6(type: 3, body: sentEcho6()), src: Fx.router6)
        #expect(r2 == OK)
        #expect(p2.icmp_type == 3 && p2.mtu == 0)
    }

    @Test("a flow's echo requests share one checksum whatever their token, nonce and time")
    func flowChecksumIsConstant() {
        var sums = Set<UInt16>()
        for i: UInt32 in 0..<200 {
            var e = buildEcho(family: 4, ident: 0x1234, seq: UInt16(i & 0xffff), token: 0x1234_0000 | i,
                              nonce: i &* 2_654_435_761, sendNs: UInt64(i) * 1_000_003)
            let rc = e.withUnsafeMutableBufferPointer { cprobe_echo_fix_sum($0.baseAddress, $0.count, $0.count - 2, 0x7777, 4) }
            #expect(rc == 0)
            #expect(checksum(e) == 0, "the ICMPv4 checksum is valid")
            sums.insert(rd16(e, 2))
            #expect(rd32(e, 8) == 0x5052_4231, "magic, token, nonce and tag untouched")
            #expect(rd32(e, 12) == 0x1234_0000 | i)
        }
        #expect(sums == [~UInt16(0x7777)])
    }

    @Test("ICMPv6: the message's sum is the target, so the kernel's checksum is constant per flow")
    func flowSumV6() {
        for i: UInt32 in 0..<50 {
            var e = buildEcho(family: 6, token: i, nonce: ~i, sendNs: UInt64(i) << 20)
            let rc = e.withUnsafeMutableBufferPointer { cprobe_echo_fix_sum($0.baseAddress, $0.count, $0.count - 2, 0x0102, 6) }
            #expect(rc == 0)
            #expect(rd16(e, 2) == 0, "the checksum field is left to the kernel")
            #expect(checksum(e) == ~UInt16(0x0102))
        }
    }

    @Test("out-of-range arguments are refused")
    func badArguments() {
        var e = buildEcho(family: 4)
        e.withUnsafeMutableBufferPointer { b in
            #expect(cprobe_echo_fix_sum(b.baseAddress, b.count, b.count, 5, 4) == -1, "past the end")
            #expect(cprobe_echo_fix_sum(b.baseAddress, b.count, 3, 5, 4) == -1, "odd offset")
            #expect(cprobe_echo_fix_sum(b.baseAddress, b.count, 30, 0, 4) == -1, "0 is not a sum")
            #expect(cprobe_echo_fix_sum(b.baseAddress, b.count, 30, 0xffff, 4) == -1)
        }
    }
}
