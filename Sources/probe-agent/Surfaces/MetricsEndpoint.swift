import AdminAPI
import Foundation
import Hummingbird
import Logging
import NIOCore
import ProbeAgentCore
import Shipper

/// The TCP listener: `/metrics`, `/health`, `/-/ready`. Read-only: nothing here changes state.
/// With a web config (`web`), every one of them asks for its credentials and carries its headers.
enum MetricsEndpoint {
    static func router(loop: AgentLoop, scrapes: ScrapeService, shipper: Shipper?, discovery: TargetDiscovery,
                       config: AgentConfig, web: WebSecurity?, log: Logger) -> Router<AgentRequestContext> {
        let router = Router(context: AgentRequestContext.self)
        if let web { router.add(middleware: WebConfigMiddleware(security: web)) }
        router.add(middleware: BodyLimitMiddleware(limit: SurfaceLimits.bodyBytes, listener: "the HTTP listener", json: false))
        router.get("/metrics") { request, context -> Response in
            guard let place = scrapes.enter() else {
                var r = text(.serviceUnavailable, "busy: \(SurfaceLimits.concurrentScrapes) scrapes are being answered already; try again\n")
                r.headers[.retryAfter] = "\(SurfaceLimits.retryAfterSeconds)"
                return r
            }
            let snap: LoopSnapshot
            switch await scrapes.snapshot() {
            case .success(let s): snap = s
            case .failure(let why): return text(.serviceUnavailable, "\(why)\n")
            }
            var head = ExpositionWriter()
            SelfMetrics.render(snap.summary, delivery: shipper?.stats ?? [], into: &head)
            SelfMetrics.discovery(discovery.stats, into: &head)
            scrapes.render(into: &head)
            web?.render(into: &head)
            let first = head.take()
            let coding = ContentCoding.negotiate(request.headers[values: .acceptEncoding].joined(separator: ","))
            let perTarget = TakeOnce((ledger: snap.ledger, schedule: snap.schedule, config: snap.config, labels: snap.labels))
            var pathSeries = ExpositionWriter(capacity: 0)
            PathMetricsRenderer.render(snap.paths, config: snap.config, labels: snap.labels, into: &pathSeries)
            let paths = pathSeries.take()
            let channel = context.channel
            let body = ResponseBody { plain in
                // Past the deadline the connection is closed: the write waiting on a slow
                // client throws, and the place and the snapshot are let go.
                let deadline = channel.eventLoop.scheduleTask(in: .seconds(SurfaceLimits.scrapeDeadlineSeconds)) {
                    scrapes.noteCut()
                    log.notice("/metrics response cut: still being sent after \(SurfaceLimits.scrapeDeadlineSeconds) s (client \(channel.remoteAddress?.description ?? "?"))")
                    channel.close(promise: nil)
                }
                defer {
                    deadline.cancel()
                    withExtendedLifetime(place) {}
                }
                var writer = try EncodedBody(plain, coding: coding)
                try await writer.write(first)
                // Per-target series stream out in ~1 MiB chunks: a 100k-target page is never whole in
                // memory. The renderer keeps the ledger's tables only: the schedule (the names) goes
                // as soon as it is built, so a slow client holds less of an old snapshot.
                var targets = perTarget.take().map { TargetMetricsRenderer(ledger: $0.ledger, schedule: $0.schedule, config: $0.config, labels: $0.labels) }
                while let chunk = targets?.nextChunk() { try await writer.write(chunk) }
                targets = nil
                if !paths.isEmpty { try await writer.write(paths) }
                // The renderer's label blocks of every target (FreedMemory.swift).
                FreedMemory.release()
                try await writer.finish()
            }
            return Response(status: .ok, headers: EncodedBody.headers(coding, contentType: "text/plain; version=0.0.4; charset=utf-8"), body: body)
        }
        router.get("/health") { _, _ -> Response in
            let alive = loopAlive(loop)
            let stalled = shipper?.stallReason()
            let reply = HealthReply(loopAlive: alive, deliveryStalled: stalled, stores: shipper?.stats ?? [])
            return json(alive && stalled == nil ? .ok : .serviceUnavailable, reply)
        }
        router.get("/-/ready") { _, _ -> Response in
            loop.probing.load(ordering: .relaxed) && loopAlive(loop)
                ? text(.ok, "ready: probing\n") : text(.serviceUnavailable, "not ready: probing has not started\n")
        }
        router.get("/") { _, _ -> Response in
            text(.ok, "probe-agent \(AgentVersion.current)\n/metrics  Prometheus metrics\n/health   JSON health\n/-/ready  readiness\n")
        }
        return router
    }

    /// The loop turns at least once a second when healthy (it never sleeps longer).
    static func loopAlive(_ loop: AgentLoop) -> Bool {
        let last = loop.lastTurn.load(ordering: .relaxed)
        return last > 0 && MonotonicClock.nanoseconds() &- last < 5_000_000_000
    }

    static func text(_ status: HTTPResponse.Status, _ s: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: jsonBuffer(value)))
    }

    /// `value` as the admin API's JSON, one line.
    static func jsonBuffer(_ value: some Encodable) -> ByteBuffer {
        let data = (try? JSONEncoder.admin.encode(value)) ?? Data(#"{"error":"encoding failed"}"#.utf8)
        var buffer = ByteBuffer(bytes: data)
        buffer.writeString("\n")
        return buffer
    }
}
