import Foundation
import Logging
import ProbeAgentCore
import ProbeEngine

/// Hostname lookups done off the loop thread, handed to it whole.
struct ResolvedNames: Sendable {
    var addresses: [String: IPAddress]
    var failures: [String: String]
}

/// The address each target probes: literals parsed once, hostnames from the resolver.
/// A failed lookup keeps the last good address (and is reported); a name never resolved has
/// none, and its probes count as `unresolved` without stopping anything else.
///
/// Literals are kept per monitor in target order (an array, 32 bytes a target), not in a
/// dictionary keyed by the target string (~105 bytes a target at 100k, most of it the
/// dictionary's spare capacity). Hostnames, usually few, are keyed by name.
struct AddressBook: Sendable {
    /// Per monitor id, by target index: the parsed literal, nil for a hostname.
    private(set) var literals: [String: [IPAddress?]] = [:]
    private(set) var resolved: [String: IPAddress] = [:]
    private(set) var failures: [String: String] = [:]
    private(set) var hostnames: [String] = []

    init(config: AgentConfig) { setTargets(config) }

    mutating func setTargets(_ config: AgentConfig) {
        var names = Set<String>()
        literals = [:]
        for m in config.monitors {
            let parsed = m.targets.map(IPAddress.init)
            for (t, ip) in zip(m.targets, parsed) where ip == nil { names.insert(t) }
            literals[m.id] = parsed
        }
        hostnames = names.sorted()
        resolved = resolved.filter { names.contains($0.key) }
        failures = failures.filter { names.contains($0.key) }
    }

    /// The address of one entry's target: its literal, else its hostname's latest lookup.
    func address(monitorID: String, targetIndex: Int, target: String) -> IPAddress? {
        if let list = literals[monitorID], targetIndex < list.count, let ip = list[targetIndex] { return ip }
        return resolved[target]
    }

    /// A hostname's latest good address.
    func address(forHostname name: String) -> IPAddress? { resolved[name] }

    /// For a book built from a new config: hostnames whose fresh lookup failed keep the address
    /// the running book had for them (last good wins over nothing).
    mutating func keepLastGood(from old: AddressBook) {
        for name in hostnames where resolved[name] == nil {
            if let addr = old.resolved[name] { resolved[name] = addr }
        }
    }

    /// Merges a lookup round; returns the names whose address changed and those now failing.
    mutating func merge(_ names: ResolvedNames) -> (changed: [String], failing: [String]) {
        var changed: [String] = []
        for (name, addr) in names.addresses where resolved[name] != addr {
            resolved[name] = addr
            changed.append(name)
        }
        for name in names.addresses.keys { failures[name] = nil }
        for (name, why) in names.failures { failures[name] = why }
        return (changed.sorted(), names.failures.keys.sorted())
    }

    /// Looks names up now, on the calling thread (getaddrinfo blocks).
    static func lookUp(_ names: [String]) -> ResolvedNames {
        var out = ResolvedNames(addresses: [:], failures: [:])
        for n in names {
            do { out.addresses[n] = try Resolver.resolve(n)[0] } catch { out.failures[n] = error.reason }
        }
        return out
    }
}

/// Re-resolves the agent's hostnames every `interval` on a background queue.
final class BackgroundResolver: @unchecked Sendable {
    private let queue = DispatchQueue(label: "probe-agent.resolver")
    private var timer: DispatchSourceTimer?
    private let names = NSLock()
    private var current: [String] = []

    func start(interval: Duration, deliver: @escaping @Sendable (ResolvedNames) -> Void) {
        let seconds = max(1, Double(interval.components.seconds))
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + seconds, repeating: seconds)
        t.setEventHandler { [weak self] in
            guard let self else { return }
            let list = self.names.withLock { self.current }
            if !list.isEmpty { deliver(AddressBook.lookUp(list)) }
        }
        t.resume()
        timer = t
    }

    func setNames(_ list: [String]) { names.withLock { current = list } }

    func stop() { timer?.cancel() }
}
