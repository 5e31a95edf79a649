import Foundation
import Hummingbird
import Logging
import NIOCore
import ProbeAgentCore
import Shipper

/// The agent's two listeners: HTTP on TCP (`/metrics`, `/health`, `/-/ready`) and the admin
/// API on a unix socket.
struct Servers {
    let http: RunningServer
    let admin: RunningServer
    let adminPath: String

    /// - Parameter web: The web config (TLS, basic auth, headers) for the HTTP listener; nil:
    ///   plain HTTP, open to whoever can reach it.
    static func start(config: AgentConfig, loop: AgentLoop, shipper: Shipper?, reloader: ConfigReloader,
                      discovery: TargetDiscovery, events: EventHub, web: WebSecurity?, log: Logger) throws -> Servers {
        let (host, port) = try split(config.http.listen)
        web?.startThreads()
        let http = try RunningServer.start(
            name: "http.listen \(config.http.listen)",
            router: MetricsEndpoint.router(loop: loop, scrapes: ScrapeService(loop: loop), shipper: shipper, discovery: discovery,
                                           config: config, web: web, log: log),
            address: .hostname(host, port: port), connections: SurfaceLimits.httpConnections, tls: web?.tlsConfiguration, log: log
        ) { channel in
            let p = channel.localAddress?.port ?? port
            return host.contains(":") ? "[\(host)]:\(p)" : "\(host):\(p)"
        }
        let scheme = web?.tlsConfiguration == nil ? "http" : "https"
        log.notice("serving /metrics, /health and /-/ready on \(scheme)://\(http.boundAddress)\(web.map { " (web config \($0.path): \(WebSecurity.summary($0.current())))" } ?? "")")
        let path = config.admin.socketPath
        do {
            try AdminSocketFile.prepare(path)
        } catch {
            http.stop()
            throw ServerStartError(description: "\(error)")
        }
        let context = AdminEndpoint.Context(loop: loop, shipper: shipper, reloader: reloader, events: events,
                                            config: config, httpListen: http.boundAddress, socketPath: path)
        let admin: RunningServer
        do {
            admin = try RunningServer.start(name: "admin.socket \(path)", router: AdminEndpoint.router(context),
                                            address: .unixDomainSocket(path: path), connections: SurfaceLimits.adminConnections,
                                            log: log) { _ in path }
        } catch {
            http.stop()
            throw error
        }
        AdminSocketFile.finish(path)
        log.notice("admin API on \(path) (agentctl --socket \(path))")
        return Servers(http: http, admin: admin, adminPath: path)
    }

    func stop() {
        admin.stop()
        http.stop()
        AdminSocketFile.remove(adminPath)
    }

    /// `host:port` or `[v6]:port` (validated by the config loader).
    static func split(_ listen: String) throws -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw ServerStartError(description: "http.listen '\(listen)' is not host:port")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}
