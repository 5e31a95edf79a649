import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOCore
import ProbeAgentCore
import ServiceLifecycle
import Synchronization

/// Runs one hummingbird application on Swift's concurrency pool and lets the (synchronous)
/// main thread wait for it to be listening, or learn why it could not listen.
final class RunningServer: Sendable {
    private let group: ServiceGroup
    private let ended: DispatchSemaphore
    /// The address actually bound (a port 0 shows the port the kernel chose).
    let boundAddress: String

    private init(boundAddress: String, group: ServiceGroup, ended: DispatchSemaphore) {
        (self.boundAddress, self.group, self.ended) = (boundAddress, group, ended)
    }

    /// Starts `app` and returns once it listens; throws the bind error (or a timeout) otherwise.
    ///
    /// Bounds from ``SurfaceLimits``, through hummingbird's own handlers: at most `connections`
    /// open (past it the listener stops accepting until one closes), idle connections closed
    /// after the idle timeout (also one whose request head stops coming: the timer restarts
    /// only on a whole request part), request heads of at most ``SurfaceLimits/headerBytes``.
    ///
    /// With `tls`, connections are TLS (HummingbirdTLS) and a client speaking plain HTTP gets
    /// its connection closed.
    static func start(name: String, router: Router<AgentRequestContext>, address: BindAddress, connections: Int,
                      tls: TLSConfiguration? = nil, log: Logger,
                      describe: @escaping @Sendable (any Channel) -> String) throws -> RunningServer {
        let outcome = Mutex<Result<String, Error>?>(nil)
        let settled = DispatchSemaphore(value: 0)
        var quiet = log
        quiet.logLevel = max(log.logLevel, .warning) // hummingbird logs every start at info
        let head = SurfaceLimits.headerBytes
        let http1 = HTTP1Channel.Configuration(
            idleTimeout: .seconds(SurfaceLimits.idleTimeoutSeconds),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: head, maxHeaderListSize: head, maxHeaderFieldCount: 100))
        let server: HTTPServerBuilder
        do {
            server = try tls.map { try .tls(.http1(configuration: http1), tlsConfiguration: $0) } ?? .http1(configuration: http1)
        } catch {
            throw ServerStartError(description: "\(name): TLS: \(error)")
        }
        let app = Application(
            router: router, server: server,
            configuration: .init(address: address, serverName: nil,
                                 availableConnectionsDelegate: MaximumAvailableConnections(connections, logger: quiet)),
            onServerRunning: { channel in
                outcome.withLock { $0 = .success(describe(channel)) }
                settled.signal()
            },
            logger: quiet)
        // A service group of its own (no signal handling: SignalRouter owns signals) so that
        // stop() can shut the server down gracefully instead of cancelling it mid-connection.
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], cancellationSignals: [], logger: quiet)
        let ended = DispatchSemaphore(value: 0)
        let task = Task {
            do {
                try await group.run()
            } catch {
                let first = outcome.withLock { o -> Bool in
                    if o == nil { o = .failure(error); return true }
                    return false
                }
                if first { settled.signal() } else if !Task.isCancelled { log.error("\(name) server stopped: \(error)") }
            }
            ended.signal()
        }
        guard settled.wait(timeout: .now() + 20) == .success else {
            task.cancel()
            throw ServerStartError(description: "\(name): not listening after 20 s")
        }
        switch outcome.withLock({ $0 })! {
        case .failure(let error):
            throw ServerStartError(description: "\(name): \(error)")
        case .success(let bound):
            return RunningServer(boundAddress: bound, group: group, ended: ended)
        }
    }

    /// Stops accepting, lets open requests finish, and waits (at most 5 s) for the server to end.
    func stop() {
        let group = self.group
        Task { await group.triggerGracefulShutdown() }
        _ = ended.wait(timeout: .now() + 5)
    }
}

struct ServerStartError: Error, CustomStringConvertible {
    let description: String
}
