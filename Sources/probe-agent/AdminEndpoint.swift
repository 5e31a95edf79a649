import AdminAPI
import Foundation
import Hummingbird
import NIOCore
import ProbeAgentCore
import Shipper

/// The admin API on the unix socket (see ``AdminPaths``): status, queue stats, monitors, the
/// dependency graph, reload and the event stream. The socket's permissions are its access control.
enum AdminEndpoint {
    struct Context: Sendable {
        let loop: AgentLoop
        let shipper: Shipper?
        let reloader: ConfigReloader
        let events: EventHub
        let config: AgentConfig
        let httpListen: String?
        let socketPath: String
    }

    static func router(_ c: Context) -> Router<BasicRequestContext> {
        let router = Router()
        router.get(RouterPath(AdminPaths.status)) { _, _ -> Response in
            guard let s = await c.loop.snapshot() else { return stopping() }
            return MetricsEndpoint.json(.ok, AdminViews.status(s, delivery: c.shipper?.stats, httpListen: c.httpListen,
                                                               adminSocket: c.socketPath))
        }
        router.get(RouterPath(AdminPaths.queueStats)) { _, _ -> Response in
            MetricsEndpoint.json(.ok, AdminViews.queueStats(c.shipper?.stats, config: c.config))
        }
        router.get(RouterPath(AdminPaths.monitors)) { request, _ -> Response in
            guard let s = await c.loop.snapshot() else { return stopping() }
            let id = request.uri.queryParameters.get("monitor")
            if let id, s.config.monitor(id: id) == nil {
                return MetricsEndpoint.json(.notFound, ErrorReply(error: "no monitor '\(id)' in the running config"))
            }
            return MetricsEndpoint.json(.ok, AdminViews.monitors(s, only: id))
        }
        router.get(RouterPath(AdminPaths.graph)) { _, _ -> Response in
            guard let s = await c.loop.snapshot() else { return stopping() }
            return MetricsEndpoint.json(.ok, AdminViews.graph(s))
        }
        router.post(RouterPath(AdminPaths.reload)) { _, _ -> Response in
            let reply = await withCheckedContinuation { (k: CheckedContinuation<ReloadReply, Never>) in
                c.reloader.requestReload(reason: "admin API") { k.resume(returning: $0) }
            }
            return MetricsEndpoint.json(reply.ok ? .ok : .unprocessableContent, reply)
        }
        router.get(RouterPath(AdminPaths.events)) { request, _ -> Response in
            guard request.uri.queryParameters.get("follow") == "1" else {
                return MetricsEndpoint.json(.ok, c.events.recent)
            }
            let live = c.events.subscribe()
            let backlog = c.events.recent.suffix(20)
            let body = ResponseBody { writer in
                for e in backlog { try await writer.write(line(e)) }
                for await e in live { try await writer.write(line(e)) }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
        }
        return router
    }

    private static func line(_ e: AgentEvent) -> ByteBuffer {
        var b = ByteBuffer(bytes: (try? JSONEncoder.admin.encode(e)) ?? Data())
        b.writeString("\n")
        return b
    }

    private static func stopping() -> Response {
        MetricsEndpoint.json(.serviceUnavailable, ErrorReply(error: "the agent is stopping"))
    }
}
