import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ProbeAgentCore
import RemoteWrite
import Synchronization

/// Remote-write POSTs for the shipper: ``send(_:done:)`` with a callback, or ``post(_:)``, which
/// blocks the calling thread (the shipper's own; never an event loop or the cooperative pool).
///
/// The transport only reports; the meaning of an answer is ``StoreResponse/classify(_:)``'s.
/// - Redirects are never followed: a 3xx comes back as an answer with its Location.
/// - At most ``bodyLimit`` bytes of a response body are kept (the rest is read and dropped as it
///   streams in, never buffered).
/// - No HTTP answer becomes a reason a person can read (StoreClient+Errors.swift).
/// - Credentials and TLS files are re-read when they change (StoreCredentials.swift, StoreTLS.swift).
final class StoreClient {
    typealias Answer = StoreAnswer

    /// Most response-body bytes kept for the answer.
    static let bodyLimit = 4096

    private let client: HTTPClient
    private let options: StoreOptions
    private let headers: HTTPHeaders
    private let credentials: StoreCredentials
    private let tls: StoreTLS?
    private let endpoint: StoreEndpoint

    init(options: StoreOptions, log: Logger = Logger(label: "probe-agent.store")) throws {
        self.options = options
        endpoint = StoreEndpoint(url: options.url, timeout: options.timeout)
        credentials = try StoreCredentials(options.authorization, log: log)
        let https = options.url.lowercased().hasPrefix("https://")
        tls = https ? try StoreTLS(files: options.tls, log: log) : nil
        var config = HTTPClient.Configuration(tlsConfiguration: tls?.configuration(nowNanos: MonotonicClock.nanoseconds()))
        config.redirectConfiguration = .disallow
        config.timeout = .init(connect: .seconds(5), read: .nanoseconds(options.timeout.nanosecondsValue))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        var h = HTTPHeaders()
        for (name, value) in RemoteWriteHeaders.all(agentVersion: options.agentVersion) { h.add(name: name, value: value) }
        for (name, value) in options.headers { h.replaceOrAdd(name: name, value: value) }
        headers = h
    }

    func shutdown() { try? client.syncShutdown() }

    /// POSTs an encoded WriteRequest and waits (bounded by the request timeout) for the answer.
    func post(_ body: Data) -> Answer {
        let answer = Mutex<Answer?>(nil)
        let done = DispatchSemaphore(value: 0)
        send(body) { a in
            answer.withLock { $0 = a }
            done.signal()
        }
        done.wait()
        return answer.withLock { $0! }
    }

    /// POSTs an encoded WriteRequest; `done` gets the answer on an event loop thread (bounded by
    /// the request timeout). Several may be in flight.
    func send(_ body: Data, done: @escaping @Sendable (Answer) -> Void) {
        let now = MonotonicClock.nanoseconds()
        let request: HTTPClient.Request
        do {
            var h = headers
            if let auth = credentials.header(nowNanos: now) { h.replaceOrAdd(name: "Authorization", value: auth) }
            var r = try HTTPClient.Request(url: options.url, method: .POST, headers: h,
                                           tlsConfiguration: tls?.configuration(nowNanos: now))
            r.body = .data(body)
            request = r
        } catch {
            return done(Answer(status: nil, transportError: "remote_write.url \(options.url) cannot be used: \(error)"))
        }
        let deadline = NIODeadline.now() + .nanoseconds(options.timeout.nanosecondsValue)
        let task = client.execute(request: request, delegate: AnswerDelegate(limit: Self.bodyLimit), deadline: deadline)
        task.futureResult.whenComplete { [credentials, tls, endpoint] result in
            switch result {
            case .success(let answer):
                credentials.answered(status: answer.status)
                done(answer)
            case .failure(let error):
                let why = endpoint.describe(error)
                if why.isTLS { tls?.handshakeFailed() }
                done(Answer(status: nil, transportError: why.text))
            }
        }
    }

}

/// Collects one answer on its event loop: the head, and the body's first `limit` bytes; later
/// body parts are dropped as they arrive. What they mean is StoreAnswer's and StoreResponse's.
private final class AnswerDelegate: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = StoreAnswer
    private let limit: Int
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    init(limit: Int) { self.limit = limit }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        self.head = head
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let room = limit - body.count
        if room > 0 { body += buffer.readableBytesView.prefix(room) }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        guard let head else { return StoreAnswer(status: nil) } // no head: no HTTP answer
        return StoreAnswer(status: Int(head.status.code), headers: head.headers, body: body, bodyLimit: limit)
    }
}
