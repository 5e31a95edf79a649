"""The fleet benchmark's private network and processes (scripts/bench/fleet_bench.py).

Topology, nothing in the root namespace (each veth is created with both ends already inside
their namespaces) and no default route anywhere:

  pf-a<i>-TAG (agent i)                             pf-s-TAG (store)
  lo  127.0.0.0/8: the agent's targets              lo  198.19.0.1/32: VictoriaMetrics :8428
  v0  198.18.x.y/30 (link i: 4i+1) <--veth--> a<i>  198.18.x.y/30 (4i+2)
  route 198.19.0.1/32 via 4i+2 dev v0

so every agent writes to the same store URL, as a real fleet does, over its own link. Every
namespace and process is recorded in WORK/netns and WORK/pids as it is made, so the wrapper's
trap can tear down what a killed driver left behind.
"""
import ipaddress, json, os, signal, subprocess, time

STORE_ADDRESS = "198.19.0.1"
STORE_PORT = 8428
LINKS = ipaddress.ip_network("198.18.0.0/16")  # one /30 per agent
MAX_AGENTS = 200
AGENT_VETH = "v0"


def run(argv, timeout=30):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def link_addresses(i):
    """Agent i's end and the store's end of its veth, as (agent, store) strings."""
    base = LINKS.network_address + 4 * i
    return str(base + 1), str(base + 2)


class Fleet:
    """The namespaces and processes of one run; close() stops every process by PID, then
    deletes every namespace (which takes its veth ends with it)."""

    def __init__(self, work, tag):
        self.work, self.tag = work, tag
        self.store_ns = f"pf-s-{tag}"
        self.agent_ns = []
        self.namespaces = []  # every one asked for, in order, whether or not it was made
        self.procs = []

    def _record(self, kind, value):
        with open(os.path.join(self.work, kind), "a") as f:
            f.write(f"{value}\n")

    def _add_ns(self, name):
        self._record("netns", name)
        self.namespaces.append(name)
        run(["ip", "netns", "add", name])
        run(["ip", "-n", name, "link", "set", "lo", "up"])

    def build(self, agents):
        if not 1 <= agents <= MAX_AGENTS:
            raise ValueError(f"agents must be 1..{MAX_AGENTS}")
        self._add_ns(self.store_ns)
        run(["ip", "-n", self.store_ns, "addr", "add", f"{STORE_ADDRESS}/32", "dev", "lo"])
        for i in range(agents):
            ns, (mine, theirs) = f"pf-a{i}-{self.tag}", link_addresses(i)
            self._add_ns(ns)
            self.agent_ns.append(ns)
            run(["ip", "-n", ns, "link", "add", AGENT_VETH, "type", "veth", "peer", "name", f"a{i}",
                 "netns", self.store_ns])
            run(["ip", "-n", ns, "addr", "add", f"{mine}/30", "dev", AGENT_VETH])
            run(["ip", "-n", self.store_ns, "addr", "add", f"{theirs}/30", "dev", f"a{i}"])
            run(["ip", "-n", ns, "link", "set", AGENT_VETH, "up"])
            run(["ip", "-n", self.store_ns, "link", "set", f"a{i}", "up"])
            run(["ip", "-n", ns, "route", "add", f"{STORE_ADDRESS}/32", "via", theirs, "dev", AGENT_VETH])

    def verify(self, targets):
        """Before anything is sent: in each agent namespace the store routes over its veth, the
        targets (first, middle, last) over lo, there is no default route and no interface but lo
        and the veth; the store namespace has lo and one veth per agent."""
        links = lambda ns: sorted(l["ifname"] for l in json.loads(run(["ip", "-n", ns, "-j", "link", "show"])))
        for i, ns in enumerate(self.agent_ns):
            route = json.loads(run(["ip", "-n", ns, "-j", "route", "get", STORE_ADDRESS]))[0]
            if route.get("dev") != AGENT_VETH or route.get("gateway") != link_addresses(i)[1]:
                raise RuntimeError(f"{ns}: {STORE_ADDRESS} does not route via {AGENT_VETH}: {route}")
            for t in {targets[0], targets[len(targets) // 2], targets[-1]}:
                dev = json.loads(run(["ip", "-n", ns, "-j", "route", "get", t]))[0].get("dev")
                if dev != "lo":
                    raise RuntimeError(f"{ns}: target {t} routes via {dev}, not lo; not sending")
            for family in ("-4", "-6"):
                if run(["ip", "-n", ns, family, "route", "show", "default"]).strip():
                    raise RuntimeError(f"{ns}: has a default route ({family})")
            if links(ns) != sorted(["lo", AGENT_VETH]):
                raise RuntimeError(f"{ns}: unexpected interfaces {links(ns)}")
        want = sorted(["lo"] + [f"a{i}" for i in range(len(self.agent_ns))])
        if links(self.store_ns) != want:
            raise RuntimeError(f"{self.store_ns}: unexpected interfaces {links(self.store_ns)}")

    def start(self, ns, argv, log_path, env=()):
        """argv inside namespace ns (ip netns exec and env both exec: the PID is argv's own), in
        a session of its own so a ^C at the terminal reaches only the driver, which stops it."""
        with open(log_path, "w") as out:
            p = subprocess.Popen(["ip", "netns", "exec", ns, "env", *env, *argv], stdout=out, stderr=out,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        self._record("pids", p.pid)
        self.procs.append(p)
        return p

    def exec_in(self, ns, argv, timeout=60):
        return run(["ip", "netns", "exec", ns, *argv], timeout=timeout)

    def tx_bytes(self, i):
        """Bytes agent i has sent over its veth (remote write with its TCP/IP overhead)."""
        link = json.loads(run(["ip", "-n", self.agent_ns[i], "-s", "-j", "link", "show", AGENT_VETH]))[0]
        return link["stats64"]["tx"]["bytes"]

    def stop(self, procs, timeout=120):
        """SIGTERM each of procs by PID, then wait for all (SIGKILL after timeout); exit codes."""
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline, codes = time.monotonic() + timeout, []
        for p in procs:
            try:
                codes.append(p.wait(timeout=max(1, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
                codes.append("killed")
        return codes

    def close(self):
        try:
            self.stop([p for p in self.procs if p.poll() is None], timeout=60)
        finally:
            for ns in reversed(self.namespaces):
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
