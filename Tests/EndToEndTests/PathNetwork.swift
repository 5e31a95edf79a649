import Foundation
import ProbeAgentCore
import Testing

/// One test's chain of forwarding namespaces, agent → r1 → r2 (or r2b) → target
/// (Tests/support/pathnet.sh), and what the path tests do in it.
struct PathNetwork {
    let name: String

    static let targetV4 = "198.18.22.2", targetV6 = "2001:db8:22::2"
    static let hopsV4 = ["198.18.20.2", "198.18.21.2", "198.18.22.2"]
    static let hopsV6 = ["2001:db8:20::2", "2001:db8:21::2", "2001:db8:22::2"]
    /// Over the second router r2b (`route("via-r2b")`).
    static let hopsBV4 = ["198.18.20.2", "198.18.23.2", "198.18.22.2"]
    static let hopsBV6 = ["2001:db8:20::2", "2001:db8:23::2", "2001:db8:22::2"]

    static var script: String { Tools.root.appendingPathComponent("Tests/support/pathnet.sh").path }

    /// Creates it and checks its routes; throws (with pathnet.sh's words) when either fails.
    static func up(_ name: String) throws -> PathNetwork {
        let up = try Tools.run([script, "up", name], timeout: 60)
        guard up.status == 0 else { throw TestNetwork.Failure("pathnet up failed: \(up.stderr)") }
        let net = PathNetwork(name: name)
        guard try Tools.run([script, "check", name]).status == 0 else {
            net.down()
            throw TestNetwork.Failure("pathnet route check failed, not probing")
        }
        return net
    }

    func down() { _ = try? Tools.run([Self.script, "down", name], timeout: 60) }

    /// The network namespace of `node` (as `ip netns exec` names it).
    func namespace(_ node: String) -> String {
        "pp-\(["agent": "a", "r1": "1", "r2": "2", "target": "t", "r2b": "b"][node]!)-\(name)"
    }

    /// How r1 forwards to the target: `via-r2`, `via-r2b` or `ecmp` (pathnet.sh route).
    func route(_ way: String) throws {
        let out = try Tools.run([Self.script, "route", name, way])
        guard out.status == 0 else { throw TestNetwork.Failure("pathnet route \(way) failed: \(out.stderr)") }
    }

    /// Lowers the MTU of the link r1 → r2 (both ends).
    func narrowMiddleLink(to mtu: Int) throws {
        try #require(try exec("r1", ["ip", "link", "set", "p2", "mtu", "\(mtu)"]).status == 0)
        try #require(try exec("r2", ["ip", "link", "set", "p1", "mtu", "\(mtu)"]).status == 0)
    }

    /// Runs `command` inside `node` (agent, r1, r2, target).
    @discardableResult
    func exec(_ node: String, _ command: [String], timeout: TimeInterval = 60) throws -> Tools.Output {
        try Tools.run([Self.script, "exec", name, node] + command, timeout: timeout)
    }

    /// Loads an nft ruleset into `node`; throws with nft's words when it is refused.
    func nft(_ node: String, _ rules: String) throws {
        let out = try exec(node, ["nft", rules])
        guard out.status == 0 else { throw TestNetwork.Failure("nft in \(node) refused '\(rules)': \(out.stderr)") }
    }

    /// `agentctl trace --json ARGS` from the agent namespace, decoded.
    func trace(_ args: [String]) throws -> (status: Int32, report: TraceReport) {
        let out = try exec("agent", [Tools.agentctl, "trace", "--json", "--interval", "100ms", "--timeout", "500ms"] + args, timeout: 60)
        guard let report = try? JSONDecoder().decode(TraceReport.self, from: Data(out.stdout.utf8)) else {
            throw TestNetwork.Failure("agentctl trace printed no report (exit \(out.status)): \(out.stdout) \(out.stderr)")
        }
        return (out.status, report)
    }
}

