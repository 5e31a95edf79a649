import ArgumentParser
import ProbeEngine

/// The round interval, per-probe timeout and address family that `agentctl probe` and
/// `agentctl trace` share, with one validation.
struct ProbeTimingFlags: ParsableArguments {
    @Option(name: .shortAndLong, help: "Time between rounds, e.g. 1s, 200ms.")
    var interval: String = "1s"

    @Option(name: .long, help: "Per-probe timeout, e.g. 1s, 500ms.")
    var timeout: String = "1s"

    @Flag(name: .customShort("4"), help: "Resolve names to IPv4 only.")
    var ipv4Only = false

    @Flag(name: .customShort("6"), help: "Resolve names to IPv6 only.")
    var ipv6Only = false

    func validate() throws {
        if ipv4Only && ipv6Only { throw ValidationError("choose one of -4 and -6") }
        _ = try intervalMilliseconds()
        _ = try timeoutMilliseconds()
    }

    func intervalMilliseconds() throws -> Int { try parsedDuration(interval, name: "--interval", range: 0...3_600_000) }
    func timeoutMilliseconds() throws -> Int { try parsedDuration(timeout, name: "--timeout", range: 1...600_000) }
    var family: Resolver.FamilyPreference { ipv4Only ? .v4 : ipv6Only ? .v6 : .any }
}
