#if canImport(Glibc)
import Glibc
#endif
import ProbeAgentCore

/// Turns a target as the user wrote it (IP literal or hostname) into addresses.
public enum Resolver {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let name: String
        public let reason: String
        public var description: String { "cannot resolve '\(name)': \(reason)" }
    }

    /// Which families a lookup may return.
    public enum FamilyPreference: Sendable { case any, v4, v6 }

    /// Resolves `name` with getaddrinfo (blocking: call it off the cooperative pool or accept
    /// the wait). IP literals return themselves without a lookup. Order is the resolver's,
    /// duplicates removed.
    public static func resolve(_ name: String, family: FamilyPreference = .any) throws(Failure) -> [IPAddress] {
        if let literal = IPAddress(name) {
            switch (family, literal.family) {
            case (.v4, 6), (.v6, 4):
                throw Failure(name: name, reason: "address family does not match the -4/-6 choice")
            default:
                return [literal]
            }
        }
        var hints = addrinfo()
        hints.ai_family = family == .v4 ? AF_INET : family == .v6 ? AF_INET6 : AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(name, nil, &hints, &list)
        guard rc == 0, let first = list else {
            throw Failure(name: name, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(first) }
        var out: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            if let sa = ai.pointee.ai_addr {
                if ai.pointee.ai_family == AF_INET {
                    let bytes = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                        withUnsafeBytes(of: p.pointee.sin_addr) { Array($0) }
                    }
                    out.append(IPAddress(family: 4, bytes: bytes))
                } else if ai.pointee.ai_family == AF_INET6 {
                    let bytes = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                        withUnsafeBytes(of: p.pointee.sin6_addr) { Array($0) }
                    }
                    out.append(IPAddress(family: 6, bytes: bytes))
                }
            }
            cursor = ai.pointee.ai_next
        }
        var seen = Set<IPAddress>()
        out = out.filter { seen.insert($0).inserted }
        if out.isEmpty { throw Failure(name: name, reason: "no addresses") }
        return out
    }
}
