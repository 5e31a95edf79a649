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

    /// A reply made from what the loop hands out (`loop.summary` or `loop.snapshot`; nil: the
    /// loop has stopped). What it held is gone by the time this returns, and the pages go back
    /// after every admin reply (FreedMemory, TakeOnce; the scale benchmark's RSS readings are
    /// taken on that footing).
    static func fromLoop<Taken, Reply>(_ take: () async -> Taken?, _ make: (Taken) -> Reply) async -> Reply? {
        let reply: Reply? = await take().map(make)
        FreedMemory.release()
        return reply
    }

    static func router(_ c: Context) -> Router<BasicRequestContext> {
        let router = Router()
        router.get(RouterPath(AdminPaths.status)) { _, _ -> Response in
            // The summary only: a status request (the bench reads one at each end of its window)
            // must not make the loop copy its tables.
            guard let reply = await fromLoop(c.loop.summary, { s in
                AdminViews.status(s, delivery: c.shipper?.stats, httpListen: c.httpListen, adminSocket: c.socketPath)
            }) else { return stopping() }
            return MetricsEndpoint.json(.ok, reply)
        }
        router.get(RouterPath(AdminPaths.queueStats)) { _, _ -> Response in
            MetricsEndpoint.json(.ok, AdminViews.queueStats(c.shipper?.stats, config: c.config))
        }
        router.get(RouterPath(AdminPaths.monitors)) { request, _ -> Response in
            let id = request.uri.queryParameters.get("monitor")
            // nil inside: no such monitor.
            guard let reply = await fromLoop(c.loop.snapshot, { s -> MonitorsReply? in
                if let id, s.config.monitor(id: id) == nil { return nil }
                return AdminViews.monitors(s, only: id)
            }) else { return stopping() }
            guard let reply else {
                return MetricsEndpoint.json(.notFound, ErrorReply(error: "no monitor '\(id ?? "")' in the running config"))
            }
            return MetricsEndpoint.json(.ok, reply)
        }
        router.get(RouterPath(AdminPaths.graph)) { _, _ -> Response in
            guard let reply = await fromLoop(c.loop.summary, AdminViews.graph) else { return stopping() }
            return MetricsEndpoint.json(.ok, reply)
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
