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

    /// A reply made from what the loop hands out (`loop.summary` or `loop.snapshot`), or why
    /// the loop gave none. What it held is gone by the time this returns, and the pages go back
    /// after every admin reply (FreedMemory, TakeOnce; the scale benchmark's RSS readings are
    /// taken on that footing).
    static func fromLoop<Taken, Reply>(_ take: () async -> Result<Taken, LoopUnavailable>,
                                       _ make: (Taken) -> Reply) async -> Result<Reply, LoopUnavailable> {
        let reply = await take().map(make)
        FreedMemory.release()
        return reply
    }

    static func router(_ c: Context) -> Router<AgentRequestContext> {
        let router = Router(context: AgentRequestContext.self)
        router.add(middleware: BodyLimitMiddleware(limit: SurfaceLimits.bodyBytes, listener: "the admin API", json: true))
        router.get(RouterPath(AdminPaths.status)) { _, _ -> Response in
            // The summary only: a status request (the bench reads one at each end of its window)
            // must not make the loop copy its tables.
            let reply = await fromLoop(c.loop.summary) { s in
                AdminViews.status(s, stores: c.shipper?.stats ?? [], deliveryStalled: c.shipper?.stallReason(),
                                  httpListen: c.httpListen, adminSocket: c.socketPath)
            }
            return answer(reply)
        }
        router.get(RouterPath(AdminPaths.queueStats)) { _, _ -> Response in
            MetricsEndpoint.json(.ok, AdminViews.queueStats(c.shipper?.stats ?? [], config: c.config))
        }
        router.get(RouterPath(AdminPaths.monitors)) { request, _ -> Response in
            let id = request.uri.queryParameters.get("monitor")
            // nil inside: no such monitor.
            let reply = await fromLoop(c.loop.snapshot) { s -> MonitorsReply? in
                if let id, s.config.monitor(id: id) == nil { return nil }
                return AdminViews.monitors(s, only: id)
            }
            if case .success(.none) = reply {
                return MetricsEndpoint.json(.notFound, ErrorReply(error: "no monitor '\(id ?? "")' in the running config"))
            }
            return answer(reply)
        }
        router.get(RouterPath(AdminPaths.graph)) { _, _ -> Response in
            answer(await fromLoop(c.loop.summary, AdminViews.graph))
        }
        router.post(RouterPath(AdminPaths.reload)) { _, _ -> Response in
            let reply = await withCheckedContinuation { (k: CheckedContinuation<ReloadReply, Never>) in
                c.reloader.requestReload(reason: "admin API") { k.resume(returning: $0) }
            }
            return MetricsEndpoint.json(reply.ok ? .ok : .unprocessableContent, reply)
        }
        router.get(RouterPath(AdminPaths.events)) { request, context -> Response in
            guard request.uri.queryParameters.get("follow") == "1" else {
                return MetricsEndpoint.json(.ok, c.events.recent)
            }
            guard let follow = c.events.subscribe() else {
                var r = MetricsEndpoint.json(.serviceUnavailable, ErrorReply(error: """
                    too many event followers: \(SurfaceLimits.eventFollowers) already follow the event stream (the limit); \
                    try again when one stops
                    """))
                r.headers[.retryAfter] = "\(SurfaceLimits.retryAfterSeconds)"
                return r
            }
            let backlog = c.events.recent.suffix(20)
            let channel = context.channel
            channel.pipeline.addHandler(InputClosedWatcher(follow.end), position: .first).whenFailure { _ in follow.end() }
            let body = ResponseBody { writer in
                for e in backlog { try await write(line(e), to: &writer, on: channel) }
                for await e in follow.events { try await write(line(e), to: &writer, on: channel) }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
        }
        return router
    }

    /// One event line to a follower; one that takes none for ``SurfaceLimits/followerStallSeconds``
    /// is dropped (its connection closed, so the waiting write throws and its place is freed).
    private static func write(_ line: ByteBuffer, to writer: inout any ResponseBodyWriter, on channel: any Channel) async throws {
        let stall = channel.eventLoop.scheduleTask(in: .seconds(SurfaceLimits.followerStallSeconds)) { channel.close(promise: nil) }
        defer { stall.cancel() }
        try await writer.write(line)
    }

    private static func answer(_ reply: Result<some Encodable, LoopUnavailable>) -> Response {
        switch reply {
        case .success(let r): return MetricsEndpoint.json(.ok, r)
        case .failure(let why):
            var r = MetricsEndpoint.json(.serviceUnavailable, ErrorReply(error: "\(why)"))
            if case .busy = why { r.headers[.retryAfter] = "1" }
            return r
        }
    }

    private static func line(_ e: AgentEvent) -> ByteBuffer {
        var b = ByteBuffer(bytes: (try? JSONEncoder.admin.encode(e)) ?? Data())
        b.writeString("\n")
        return b
    }
}
