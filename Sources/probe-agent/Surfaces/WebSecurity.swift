import Foundation
import HummingbirdBcrypt
import Logging
import NIOPosix
import NIOSSL
import ProbeAgentCore
import Synchronization

/// The HTTP listener's web config while the agent runs: what it asks of requests (basic auth,
/// headers), the TLS configuration the listener was built with, and the certificate it serves.
///
/// Re-read when its files change (``WebConfigRefresh``: looked at no more than once a second,
/// from requests); a new file that does not load is logged and the running one
/// kept. Bcrypt checks run one at a time on a thread of their own, never on an event loop, and
/// their results are kept (``VerifiedCredentials``).
final class WebSecurity: Sendable {
    let path: String
    /// Built once, at start: the listener's TLS, nil for plain HTTP.
    let tlsConfiguration: TLSConfiguration?
    private let log: Logger
    private let state: Mutex<State>
    private let verified = Mutex(VerifiedCredentials())
    /// Compared against for a user the config does not have, so such a request takes as long
    /// as a wrong password and does not tell which users exist.
    private let decoy = Bcrypt.hash(UUID().uuidString, cost: 10)
    private let bcryptThread = NIOThreadPool(numberOfThreads: 1)
    private let hashChecks = Atomic<UInt64>(0)
    private let refused = Atomic<UInt64>(0)
    private let rereads = Atomic<UInt64>(0)
    private let rereadFailures = Atomic<UInt64>(0)

    /// The certificate the TLS handshakes serve (nil for plain HTTP), swapped on a re-read.
    private let serving: ServingCertificate.Slot?

    private struct State {
        var config: WebConfig
        var refresh: WebConfigRefresh
    }

    /// Loads `path` and everything it names; every problem is a ``WebConfigProblem`` (the
    /// caller prints it and does not start).
    init(path: String, log: Logger) throws(WebConfigProblem) {
        self.path = path
        self.log = log
        let (config, serving) = try Self.read(path)
        let refresh = WebConfigRefresh(stamps: Self.stamps(path, config), now: MonotonicClock.nanoseconds())
        state = Mutex(State(config: config, refresh: refresh))
        if let tls = config.tls, let serving {
            let slot = ServingCertificate.Slot(serving)
            self.serving = slot
            tlsConfiguration = try WebTLS.configuration(tls, serving: serving, webConfig: path) { slot.current }
        } else {
            (self.serving, tlsConfiguration) = (nil, nil)
        }
    }

    /// Starts the bcrypt thread. Not in `init`: the web config is loaded before the engine
    /// drops its capabilities, and no other thread may start before that (capabilities are
    /// per thread).
    func startThreads() { bcryptThread.start() }

    deinit { bcryptThread.shutdownGracefully { _ in } }

    /// The web config to apply to a request now, re-read first if its files changed.
    func current() -> WebConfig {
        let now = MonotonicClock.nanoseconds()
        let (config, due) = state.withLock { s in (s.config, s.refresh.due(now: now)) }
        guard due else { return config }
        let stamps = Self.stamps(path, config)
        guard state.withLock({ $0.refresh.changed(stamps) }) else { return config }
        return reread()
    }

    private func reread() -> WebConfig {
        rereads.add(1, ordering: .relaxed)
        do {
            let (new, serving) = try Self.read(path)
            return state.withLock { s in
                let (taken, warning) = WebConfigRefresh.apply(new, over: s.config)
                if let warning { log.warning("web config \(path): \(warning)") }
                // Stamps of what was read, so a later change of a newly named file is seen.
                _ = s.refresh.changed(Self.stamps(path, new))
                s.config = taken
                if let slot = self.serving, taken.tls != nil, let serving { slot.current = serving }
                log.notice("web config \(path) re-read: \(Self.summary(taken))")
                return taken
            }
        } catch {
            rereadFailures.add(1, ordering: .relaxed)
            log.error("web config not re-read, the running one is kept: \(error)")
            return state.withLock { $0.config }
        }
    }

    /// True when `authorization` holds the right password of one of `users`.
    func authorize(_ authorization: String?, users: [String: String]) async -> Bool {
        guard let credentials = BasicCredentials(authorization: authorization) else {
            refused.add(1, ordering: .relaxed)
            return false
        }
        let hash = users[credentials.user]
        let key = VerifiedCredentials.Key(credentials, hash: hash ?? "")
        if let known = verified.withLock({ $0.result(key) }) {
            if !known { refused.add(1, ordering: .relaxed) }
            return known
        }
        hashChecks.add(1, ordering: .relaxed)
        // bcrypt (libbcrypt) knows $2a$ and $2b$; $2y$ (htpasswd's) is the same algorithm.
        let against = hash.map { $0.hasPrefix("$2y$") ? "$2b$" + $0.dropFirst(4) : $0 } ?? decoy
        let matched = ((try? await bcryptThread.runIfActive { Bcrypt.verify(credentials.password, hash: against) }) ?? false)
            && hash != nil
        verified.withLock { $0.keep(key, matched) }
        if !matched { refused.add(1, ordering: .relaxed) }
        return matched
    }

    /// `probeagent_http_auth_*` and `probeagent_web_config_*`.
    func render(into w: inout ExpositionWriter) {
        w.header("probeagent_http_auth_hash_checks_total", .counter, "bcrypt checks of basic auth credentials (a repeated user and password is answered from a cache).")
        w.sample("probeagent_http_auth_hash_checks_total", [], Double(hashChecks.load(ordering: .relaxed)))
        w.header("probeagent_http_auth_refused_total", .counter, "HTTP requests answered 401: no, malformed or wrong basic auth credentials.")
        w.sample("probeagent_http_auth_refused_total", [], Double(refused.load(ordering: .relaxed)))
        w.header("probeagent_web_config_rereads_total", .counter, "Times the web config was read again because it or a file it names changed.")
        w.sample("probeagent_web_config_rereads_total", [], Double(rereads.load(ordering: .relaxed)))
        w.header("probeagent_web_config_reread_failures_total", .counter, "Re-reads of the web config that failed (the running one was kept; the log says why).")
        w.sample("probeagent_web_config_reread_failures_total", [], Double(rereadFailures.load(ordering: .relaxed)))
    }

    /// "TLS (RequireAndVerifyClientCert), basic auth for 2 users, 1 header".
    static func summary(_ c: WebConfig) -> String {
        var parts = [c.tls.map { "TLS (\($0.minVersion.rawValue)+, \($0.clientAuth.rawValue))" } ?? "plain HTTP"]
        parts.append(c.basicAuthUsers.isEmpty ? "no authentication" : "basic auth for \(c.basicAuthUsers.count) user(s)")
        if !c.headers.isEmpty { parts.append("\(c.headers.count) header(s)") }
        return parts.joined(separator: ", ")
    }

    private static func read(_ path: String) throws(WebConfigProblem) -> (WebConfig, ServingCertificate?) {
        let config: WebConfig
        do {
            config = try WebConfig.load(contentsOf: path)
        } catch {
            throw WebConfigProblem(description: error.errors.map(\.description).joined(separator: "\n"))
        }
        return (config, try config.tls.map { tls throws(WebConfigProblem) in try ServingCertificate.load(tls, webConfig: path) })
    }

    /// The stamps that tell a change: the web config and the files it names.
    private static func stamps(_ path: String, _ c: WebConfig) -> [CredentialFile.Stamp?] {
        [path, c.tls?.certFile, c.tls?.keyFile, c.tls?.clientCAFile].map { $0.flatMap(CredentialFile.stamp) }
    }
}
