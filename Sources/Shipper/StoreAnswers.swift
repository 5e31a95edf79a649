import Dispatch
import ProbeAgentCore
import Synchronization

/// Answers of requests in flight, from the HTTP client's threads to the shipper thread.
final class StoreAnswers: Sendable {
    private let list = Mutex<[(UInt64, StoreAnswer)]>([])

    func put(_ id: UInt64, _ answer: StoreAnswer) {
        list.withLock { $0.append((id, answer)) }
    }

    func take() -> [(UInt64, StoreAnswer)] {
        list.withLock { l in
            defer { l = [] }
            return l
        }
    }
}
