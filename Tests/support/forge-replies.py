#!/usr/bin/env python3
"""forge-replies.py — a hostile target and router for the engine's forgery tests.

Runs in the server namespace of Tests/support/testnet.sh, which is on the path to every
target. It watches the probes the agent sends to the addresses it owns (the watched, "alive"
prefixes), learns what an observer can (ICMP identifiers, sequences and payloads; TCP ports
and initial sequence numbers) and forges, for a silent victim it does not route, everything
that would make the agent count that victim unreachable or refused:

  quote_replay   ICMP errors (v4 unreachable / time exceeded, v6 unreachable / time exceeded /
                 packet too big) quoting each watched probe with the victim as destination,
                 8-byte and full quotes; echo replies and TCP RST / SYN-ACK from the victim
                 carrying each watched probe's identity
  bad_nonce      an error quoting a watched probe in full with one bit of its nonce flipped
  seq_sweep      8-byte-quote errors (unreachable and time exceeded) and echo replies for the
                 victim with a watched identifier and every one of the 65,536 sequences
                 (enough, with the identifier fixed per process, to hit every probe)
  random_quote   8-byte-quote errors for the victim with random identifier and sequence
  tcp_brute      RSTs for the victim for the slots next to a watched SYN's and every value of
                 the 12 random bits of an ISN that carries its slot in the low 20 bits,
                 errors quoting such SYNs, and RSTs for every destination port near the
                 watched one
  honest         (with --honest) an unreachable error quoting each watched echo request in
                 full, for its own destination: a target may do that, and the agent must
                 believe it — the control that the forged packets are well made and arrive

Usage: forge-replies.py --client4 A --client6 A --watch4 NET --watch6 NET --victim4 A
                        --victim6 A --victim-port P --ready FILE --summary FILE
                        [--seconds S] [--max-packets N] [--honest]

Sends only to --client4 / --client6, which must lie in 198.18.0.0/15 or 2001:db8::/32; stops
after --seconds (default 25) or --max-packets (default 1,000,000) packets, whichever comes
first. Writes --ready once its sockets are open and a JSON summary of what it saw and sent to
--summary (atomically) when it ends. Needs root (raw sockets) in the namespace.
"""
import argparse, ipaddress, json, os, random, select, socket, struct, sys, time

IP_FREEBIND, IPV6_FREEBIND, IPV6_RECVPKTINFO, IPV6_PKTINFO, IPV6_CHECKSUM = 15, 78, 49, 50, 7
SAFE_NETS = [ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32")]
SWEEP_CHUNK = 4096  # packets between two looks at the sniffers


def log(msg):
    print(f"forge-replies: {msg}", file=sys.stderr, flush=True)


def fatal(msg):
    log(f"error: {msg}")
    sys.exit(1)


def csum_add(data, acc=0):
    if len(data) % 2:
        data += b"\0"
    for (w,) in struct.iter_unpack("!H", data):
        acc += w
    return acc


def fold(acc):
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return ~acc & 0xFFFF


def ip4_header(src, dst, proto, payload_len, ttl=64):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0x1C46, 0x4000, ttl, proto, 0,
                    socket.inet_pton(socket.AF_INET, src), socket.inet_pton(socket.AF_INET, dst))
    return h[:10] + struct.pack("!H", fold(csum_add(h))) + h[12:]


def ip6_header(src, dst, nh, payload_len, hop=64):
    return struct.pack("!IHBB16s16s", 6 << 28, payload_len, nh, hop,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))


class Budget:
    def __init__(self, max_packets, seconds):
        self.max, self.deadline = max_packets, time.monotonic() + seconds
        self.sent, self.by_kind = 0, {}

    def left(self):
        return self.sent < self.max and time.monotonic() < self.deadline

    def count(self, kind, n=1):
        self.sent += n
        self.by_kind[kind] = self.by_kind.get(kind, 0) + n


class Forger:
    def __init__(self, a):
        self.a = a
        self.budget = Budget(a.max_packets, a.seconds)
        self.seen = {"echo4": [], "echo6": [], "syn4": [], "syn6": []}
        self.sweeps_done = {4: 0, 6: 0}
        self.tcp_brute_done = {4: 0, 6: 0}
        self.attributable = {"honest4": 0, "honest6": 0}
        # Router sockets: errors leave with the namespace's own source address.
        self.icmp4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.icmp6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        self.icmp6.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        self.tcp4_sniff = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.tcp6_sniff = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.tcp6_sniff.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        for s in (self.icmp4, self.icmp6, self.tcp4_sniff, self.tcp6_sniff):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.setblocking(False)
        # Victim sockets: answers that claim to come from the silent victim itself.
        self.spoof = {}
        for fam, victim in ((4, a.victim4), (6, a.victim6)):
            af = socket.AF_INET if fam == 4 else socket.AF_INET6
            for proto in (socket.IPPROTO_ICMP if fam == 4 else socket.IPPROTO_ICMPV6, socket.IPPROTO_TCP):
                s = socket.socket(af, socket.SOCK_RAW, proto)
                if fam == 4:
                    s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
                else:
                    s.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
                    if proto == socket.IPPROTO_TCP:
                        s.setsockopt(socket.IPPROTO_IPV6, IPV6_CHECKSUM, 16)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # never read
                s.bind((victim, 0))
                self.spoof[(fam, proto)] = s

    # --- sending --------------------------------------------------------------------------

    def send(self, sock, fam, pkt, kind):
        if not self.budget.left():
            return False
        dst = self.a.client4 if fam == 4 else self.a.client6
        sock.sendto(pkt, (dst, 0))
        self.budget.count(kind)
        return True

    def icmp_error(self, fam, typ, code, quote, kind, rest=0):
        """An ICMP error from the router quoting `quote` (inner IP header + transport bytes)."""
        if fam == 4:
            body = struct.pack("!BBHI", typ, code, 0, rest) + quote
            body = body[:2] + struct.pack("!H", fold(csum_add(body))) + body[4:]
            return self.send(self.icmp4, 4, body, kind)
        return self.send(self.icmp6, 6, struct.pack("!BBHI", typ, code, 0, rest) + quote, kind)

    def error_types(self, fam):
        # (type, code, rest): unreachable (host / address), time exceeded, packet too big (v6)
        return [(3, 1, 0), (11, 0, 0)] if fam == 4 else [(1, 3, 0), (3, 0, 0), (2, 0, 1280)]

    def quoted_echo(self, fam, echo, victim):
        client = self.a.client4 if fam == 4 else self.a.client6
        if fam == 4:
            return ip4_header(client, victim, 1, len(echo), ttl=1) + echo
        return ip6_header(client, victim, 58, len(echo), hop=1) + echo

    def quoted_syn(self, fam, sport, dport, isn, victim):
        client = self.a.client4 if fam == 4 else self.a.client6
        syn = struct.pack("!HHII", sport, dport, isn, 0) + bytes([0x60, 0x02]) + b"\xfa\xf0\0\0\0\0" + b"\x02\x04\x05\xb4"
        if fam == 4:
            return ip4_header(client, victim, 6, len(syn), ttl=1) + syn
        return ip6_header(client, victim, 6, len(syn), hop=1) + syn

    def echo_reply(self, fam, ident, seq, payload, kind):
        typ = 0 if fam == 4 else 129
        pkt = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + payload
        if fam == 4:
            pkt = pkt[:2] + struct.pack("!H", fold(csum_add(pkt))) + pkt[4:]
        return self.send(self.spoof[(fam, socket.IPPROTO_ICMP if fam == 4 else socket.IPPROTO_ICMPV6)], fam, pkt, kind)

    def tcp_answer(self, fam, dport, ack, flags, kind, sport=None):
        """A SYN-ACK / RST-ACK from the victim's port to the client's port dport."""
        sport = self.a.victim_port if sport is None else sport
        seg = struct.pack("!HHIIBBHHH", sport, dport, 0x11112222, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
        if fam == 4:
            pseudo = (socket.inet_pton(socket.AF_INET, self.a.victim4) + socket.inet_pton(socket.AF_INET, self.a.client4)
                      + struct.pack("!BBH", 0, 6, len(seg)))
            seg = seg[:16] + struct.pack("!H", fold(csum_add(pseudo + seg))) + seg[18:]
        return self.send(self.spoof[(fam, socket.IPPROTO_TCP)], fam, seg, kind)

    # --- what a watched probe teaches -----------------------------------------------------

    def on_echo(self, fam, dst, echo):
        ident, seq = struct.unpack("!HH", echo[4:8])
        self.seen[f"echo{fam}"].append([ident, seq, echo[8:].hex()])
        victim = self.a.victim4 if fam == 4 else self.a.victim6
        # Replays for the victim while the watched probe is still in flight, then the honest error.
        for typ, code, rest in self.error_types(fam):
            self.icmp_error(fam, typ, code, self.quoted_echo(fam, echo[:8], victim), "quote_replay", rest)
            self.icmp_error(fam, typ, code, self.quoted_echo(fam, echo, victim), "quote_replay", rest)
        self.echo_reply(fam, ident, seq, echo[8:], "quote_replay")
        flipped = bytearray(echo)
        if len(flipped) >= 20:
            flipped[19] ^= 1  # last byte of the nonce
            self.icmp_error(fam, *self.error_types(fam)[0][:2], self.quoted_echo(fam, bytes(flipped), dst), "bad_nonce")
        if self.a.honest and self.icmp_error(fam, *self.error_types(fam)[0][:2], self.quoted_echo(fam, echo, dst), "honest"):
            self.attributable[f"honest{fam}"] += 1

    def on_syn(self, fam, dst, sport, dport, isn):
        self.seen[f"syn{fam}"].append([sport, dport, isn])
        victim = self.a.victim4 if fam == 4 else self.a.victim6
        self.tcp_answer(fam, sport, isn + 1, 0x14, "quote_replay")  # RST|ACK
        self.tcp_answer(fam, sport, isn + 1, 0x12, "quote_replay")  # SYN|ACK
        for typ, code, rest in self.error_types(fam):
            self.icmp_error(fam, typ, code, self.quoted_syn(fam, sport, self.a.victim_port, isn, victim)[:(20 if fam == 4 else 40) + 8],
                            "quote_replay", rest)
        if self.tcp_brute_done[fam] < 2:
            self.tcp_brute_done[fam] += 1
            self.tcp_brute(fam, sport, isn, victim)

    def tcp_brute(self, fam, sport, isn, victim):
        slot = isn & 0xFFFFF
        base = (sport - (slot & 0x3FF)) & 0xFFFF
        for d in (-2, -1, 1, 2):
            s = (slot + d) & 0xFFFFF
            port = (base + (s & 0x3FF)) & 0xFFFF
            for hi in range(4096):
                if not self.tcp_answer(fam, port, ((hi << 20) | s) + 1, 0x14, "tcp_brute"):
                    return
            self.poll_sniffers()
        quote_hdr = self.quoted_syn(fam, 0, 0, 0, victim)[:(20 if fam == 4 else 40)]
        s = (slot + 1) & 0xFFFFF
        port = (base + (s & 0x3FF)) & 0xFFFF
        typ, code, rest = self.error_types(fam)[0]
        for hi in range(4096):
            q = quote_hdr + struct.pack("!HHI", port, self.a.victim_port, (hi << 20) | s)
            if not self.icmp_error(fam, typ, code, q, "tcp_brute", rest):
                return
        for p in range(max(1, sport - 1023), min(65535, sport + 1023) + 1):
            if not self.tcp_answer(fam, p, isn + 1, 0x14, "tcp_brute"):
                return

    def seq_sweep(self, fam):
        """Every sequence under the latest watched identifier: errors and echo replies for the victim."""
        ident, _, payload_hex = self.seen[f"echo{fam}"][-1]
        payload = bytes.fromhex(payload_hex)
        victim = self.a.victim4 if fam == 4 else self.a.victim6
        for typ, code, rest in self.error_types(fam)[:2]:
            head = self.quoted_echo(fam, struct.pack("!BBHHH", 8 if fam == 4 else 128, 0, 0, ident, 0), victim)
            for seq in range(65536):
                q = head[:-2] + struct.pack("!H", seq)
                if not self.icmp_error(fam, typ, code, q, "seq_sweep", rest):
                    return
                if seq % SWEEP_CHUNK == 0:
                    self.poll_sniffers()
        for seq in range(65536):
            # The payload's copy of the identity follows the header, as the agent's does.
            p = payload[:4] + struct.pack("!HH", ident, seq) + payload[8:] if len(payload) >= 8 else payload
            if not self.echo_reply(fam, ident, seq, p, "seq_sweep"):
                return
            if seq % SWEEP_CHUNK == 0:
                self.poll_sniffers()

    def random_quotes(self, fam, n):
        victim = self.a.victim4 if fam == 4 else self.a.victim6
        rng = random.Random(0x5EED + fam)
        typ, code, rest = self.error_types(fam)[0]
        head = self.quoted_echo(fam, bytes(8), victim)[:-8]
        for i in range(n):
            echo = struct.pack("!BBHHH", 8 if fam == 4 else 128, 0, 0, rng.randrange(65536), rng.randrange(65536))
            if not self.icmp_error(fam, typ, code, head + echo, "random_quote", rest):
                return
            if i % SWEEP_CHUNK == 0:
                self.poll_sniffers()

    # --- sniffing -------------------------------------------------------------------------

    def watched(self, fam, addr):
        net = self.a.watch4 if fam == 4 else self.a.watch6
        return ipaddress.ip_address(addr) in net

    @staticmethod
    def pktinfo_dst(ancdata):
        for level, typ, data in ancdata:
            if level == socket.IPPROTO_IPV6 and typ == IPV6_PKTINFO and len(data) >= 16:
                return socket.inet_ntop(socket.AF_INET6, data[:16])
        return None

    def poll_sniffers(self):
        socks = [self.icmp4, self.icmp6, self.tcp4_sniff, self.tcp6_sniff]
        ready, _, _ = select.select(socks, [], [], 0)
        for s in ready:
            for _ in range(256):
                try:
                    if s in (self.icmp6, self.tcp6_sniff):
                        data, anc, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(20))
                        dst = self.pktinfo_dst(anc)
                    else:
                        data = s.recv(2048)
                        dst = None
                except BlockingIOError:
                    break
                self.classify(s, data, dst)

    def classify(self, s, data, dst6):
        if s is self.icmp4 or s is self.tcp4_sniff:
            if len(data) < 20:
                return
            ihl = (data[0] & 0x0F) * 4
            dst = socket.inet_ntop(socket.AF_INET, data[16:20])
            body = data[ihl:]
            if not self.watched(4, dst):
                return
            if s is self.icmp4 and len(body) >= 8 and body[0] == 8:
                self.on_echo(4, dst, body)
            elif s is self.tcp4_sniff and len(body) >= 20 and body[13] & 0x12 == 0x02:
                self.on_syn(4, dst, *struct.unpack("!HHI", body[:8]))
            return
        if dst6 is None or not self.watched(6, dst6):
            return
        if s is self.icmp6 and len(data) >= 8 and data[0] == 128:
            self.on_echo(6, dst6, data)
        elif s is self.tcp6_sniff and len(data) >= 20 and data[13] & 0x12 == 0x02:
            self.on_syn(6, dst6, *struct.unpack("!HHI", data[:8]))

    # --- the run --------------------------------------------------------------------------

    def run(self, sweeps, random_n, tail_seconds):
        """Returns the seconds it took to finish every attack (None: the budget ran out first)."""
        started, done_at = time.monotonic(), None
        while self.budget.left():
            select.select([self.icmp4, self.icmp6, self.tcp4_sniff, self.tcp6_sniff], [], [], 0.05)
            self.poll_sniffers()
            for fam in (4, 6):
                if self.seen[f"echo{fam}"] and self.sweeps_done[fam] < sweeps:
                    self.sweeps_done[fam] += 1
                    self.seq_sweep(fam)
                    self.random_quotes(fam, random_n)
            finished = all(self.sweeps_done[f] >= sweeps and self.tcp_brute_done[f] >= 2 for f in (4, 6))
            if finished and done_at is None:
                done_at = time.monotonic()
            if done_at is not None and time.monotonic() - done_at > tail_seconds:
                break
        return None if done_at is None else round(done_at - started, 3)


def main():
    ap = argparse.ArgumentParser(description="forge replies and ICMP errors for a silent victim (test network only)")
    for k in ("client4", "client6", "victim4", "victim6", "ready", "summary"):
        ap.add_argument(f"--{k}", required=True)
    ap.add_argument("--watch4", required=True, type=ipaddress.ip_network)
    ap.add_argument("--watch6", required=True, type=ipaddress.ip_network)
    ap.add_argument("--victim-port", type=int, default=8080)
    ap.add_argument("--seconds", type=float, default=25)
    ap.add_argument("--max-packets", type=int, default=1_000_000)
    ap.add_argument("--sweeps", type=int, default=1, help="sequence sweeps per family")
    ap.add_argument("--random", type=int, default=16384, help="random-identity quotes per sweep")
    ap.add_argument("--tail", type=float, default=2.0, help="seconds of replays after the sweeps")
    ap.add_argument("--honest", action="store_true")
    a = ap.parse_args()
    for addr in (a.client4, a.client6, a.victim4, a.victim6):
        if not any(ipaddress.ip_address(addr) in n for n in SAFE_NETS):
            fatal(f"{addr} is outside 198.18.0.0/15 and 2001:db8::/32: refusing")
    if not 0 < a.seconds <= 120 or not 0 < a.max_packets <= 2_000_000:
        fatal("--seconds must be in (0, 120] and --max-packets in (0, 2000000]")
    f = Forger(a)
    with open(a.ready + ".tmp", "w") as out:
        out.write(f"{os.getpid()}\n")
    os.rename(a.ready + ".tmp", a.ready)
    started = time.monotonic()
    work_s = f.run(a.sweeps, a.random, a.tail)
    summary = dict(elapsed_s=round(time.monotonic() - started, 3), work_s=work_s, sent=f.budget.sent, by_kind=f.budget.by_kind,
                   seen={k: len(v) for k, v in f.seen.items()},
                   distinct_echo_idents={k: len({x[0] for x in v}) for k, v in f.seen.items() if k.startswith("echo")},
                   seen_echo_ids={k: [x[0] for x in v][:200] for k, v in f.seen.items() if k.startswith("echo")},
                   sweeps_done=f.sweeps_done, tcp_brute_done=f.tcp_brute_done, honest=f.attributable)
    with open(a.summary + ".tmp", "w") as out:
        json.dump(summary, out)
    os.rename(a.summary + ".tmp", a.summary)
    log(f"sent {f.budget.sent} packets in {summary['elapsed_s']} s: {f.budget.by_kind}")


if __name__ == "__main__":
    main()
