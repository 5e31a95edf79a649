import Foundation

/// One test's namespace network (Tests/support/testnet.sh), as the end-to-end suites use it.
struct TestNetwork {
    let name: String

    /// Creates it and checks its routes; throws (with testnet.sh's words) when either fails.
    static func up(_ name: String) throws -> TestNetwork {
        let up = try Tools.run([Tools.testnet, "up", name], timeout: 60)
        guard up.status == 0 else { throw Failure("testnet up failed: \(up.stderr)") }
        let net = TestNetwork(name: name)
        guard try net.run(["check"]).status == 0 else {
            net.down()
            throw Failure("testnet route check failed, not probing")
        }
        return net
    }

    func down() { _ = try? run(["down"]) }

    /// `testnet.sh VERB NAME ARGS…` (VERB: exec, sexec, check, …).
    func run(_ args: [String], timeout: TimeInterval = 60) throws -> Tools.Output {
        try Tools.run([Tools.testnet, args[0], name] + args.dropFirst(), timeout: timeout)
    }

    /// Echo requests the server namespace's kernel has received (/proc/net/snmp Icmp InEchos):
    /// the probes made, counted by someone other than the agent.
    func echoesReceived() throws -> Int {
        let out = try run(["sexec", "cat", "/proc/net/snmp"])
        let lines = out.stdout.split(separator: "\n").filter { $0.hasPrefix("Icmp:") }
        let names = lines[0].split(separator: " "), values = lines[1].split(separator: " ")
        return Int(values[names.firstIndex(of: "InEchos")!])!
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}
