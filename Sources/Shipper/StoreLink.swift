import Foundation
import Logging
import ProbeAgentCore
import RemoteWrite

/// The shipper's I/O side of one store (`remote_write` endpoint): its HTTP client, request
/// encoder, the answers coming back from the client's threads, and the send times of its
/// requests in flight. Its delivery policy is its machine in the shipper's ``DeliveryFanout``
/// (same index); its place in the spill log is the log's reader of the same index.
///
/// Threading: the shipper thread's, except `answers`, which the HTTP client fills.
final class StoreLink {
    let options: StoreOptions
    let client: StoreClient
    var requestBuilder: RequestBuilder
    let answers = StoreAnswers()
    var sentAt: [UInt64: UInt64] = [:]
    /// Send-to-answer time of every request to this store.
    var requestDurations = DurationHistogram()
    /// Request bodies sent (snappy-compressed protobuf), retries included: what the store
    /// link carries besides HTTP and TLS framing (fleet sizing, README "Running a fleet").
    var bodyBytesSent: UInt64 = 0

    /// Opens the HTTP client (a TLS or credential file that cannot be used is a clear error
    /// naming it).
    init(options: StoreOptions, log: Logger) throws {
        self.options = options
        requestBuilder = RequestBuilder(external: options.externalLabels)
        client = try StoreClient(options: options, log: log)
    }

    var name: String { options.name }

    /// POSTs `records` as request `id`; the answer lands in `answers`, and `wake` is called
    /// (from the client's thread) so the shipper thread picks it up at once.
    /// - Returns: why the request could not even be encoded (then nothing was sent).
    func send(_ id: UInt64, _ records: [ResultRecord], wake: @escaping @Sendable () -> Void) -> String? {
        let body: Data
        do {
            body = try WriteRequestEncoder.body(protobuf: requestBuilder.protobuf(records))
        } catch {
            return "cannot encode: \(error)"
        }
        sentAt[id] = MonotonicClock.nanoseconds()
        bodyBytesSent += UInt64(body.count)
        client.send(body) { [answers] answer in
            answers.put(id, answer)
            wake()
        }
        return nil
    }

    /// The answers that arrived, with their request times recorded.
    func takeAnswers() -> [(UInt64, StoreAnswer)] {
        let taken = answers.take()
        for (id, _) in taken {
            if let at = sentAt.removeValue(forKey: id) { requestDurations.record(MonotonicClock.nanoseconds() - at) }
        }
        return taken
    }
}
