import AdminAPI
import Foundation
import Hummingbird
import NIOCore
import ProbeAgentCore

/// The request context of both listeners: hummingbird's basics plus the connection, so a
/// handler can close it (a scrape past its deadline, a follower that stopped reading).
struct AgentRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Refuses a request body over `limit` bytes with 413 before any handler sees it: a declared
/// `Content-Length` over the limit at once, a chunked body as soon as it passes the limit.
/// The refusal closes the connection's sending side, so a client that keeps sending learns.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext
    let limit: Int
    /// Which listener, for the message ("the admin API").
    let listener: String
    /// The refusal as JSON (``ErrorReply``, the admin API's errors) or as plain text.
    let json: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit {
            return refuse("a request body of \(declared) bytes", context)
        }
        if (declared ?? 0) > 0 || request.headers[.transferEncoding] != nil {
            do {
                _ = try await request.collectBody(upTo: limit)
            } catch is NIOTooManyBytesError {
                return refuse("a request body of more than \(limit) bytes", context)
            }
        }
        return try await next(request, context)
    }

    private func refuse(_ what: String, _ context: Context) -> Response {
        let message = "\(what) is over \(listener)'s limit of \(limit) bytes"
        let body = json ? MetricsEndpoint.jsonBuffer(ErrorReply(error: message)) : ByteBuffer(string: message + "\n")
        let channel = context.channel
        return Response(
            status: .contentTooLarge,
            headers: [.contentType: json ? "application/json" : "text/plain; charset=utf-8", .connection: "close"],
            body: ResponseBody(contentLength: body.readableBytes) { writer in
                try await writer.write(body)
                try await writer.finish(nil)
                channel.close(mode: .output, promise: nil) // what else comes is read and dropped
            })
    }
}

/// Tells a long response (the event stream) that its client closed its side.
///
/// Hummingbird lets a client half-close (allowRemoteHalfClosure), and reads nothing while a
/// response is being produced, so a follower's disconnect would otherwise go unnoticed until
/// the next event is written to it — and it would hold a follower's place meanwhile. Added at
/// the head of the pipeline, where the socket's own events pass.
final class InputClosedWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let closed: @Sendable () -> Void

    init(_ closed: @escaping @Sendable () -> Void) { self.closed = closed }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { closed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed()
        context.fireChannelInactive()
    }
}
