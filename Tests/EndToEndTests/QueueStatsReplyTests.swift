import AdminAPI
import Foundation
import Testing

/// `agentctl queue-stats` from this release against an agent of the one-store release still
/// running after an upgrade: its reply has no `stores`, and the one store is read from the
/// top-level figures.
@Suite("queue-stats replies of a one-store agent")
struct QueueStatsReplyTests {
    @Test func aReplyWithoutStoresIsItsOneStore() throws {
        let old = QueueStatsReply(
            remoteWriteConfigured: true, url: "http://127.0.0.1:8428/api/v1/write",
            delivery: DeliverySummary(mode: "degraded", reason: "connection refused", modeChangedAt: Date(timeIntervalSince1970: 0)),
            memory: .init(depth: 5, capacity: 100, overflows: 0),
            spill: .init(directory: "/var/lib/probe-agent/spill", bytes: 4096, segments: 1, pendingResults: 42,
                         oldestAgeSeconds: 3, droppedResults: 1, corruptRecords: 0),
            backfill: .init(ratePerSecond: 20_000, etaSeconds: nil),
            remoteWrite: .init(samplesSent: 9, requestsSent: 3, requestsFailed: 2, retries: 2, requestsInFlight: 1,
                               deadLetterRequests: 0, deadLetterResults: 0, tooOldDropped: 0, highestSentTimestamp: nil,
                               lagSeconds: nil, lastError: "connection refused"),
            resultsReceived: 50, resultsShipped: 3, resultsLost: 0)
        let json = try JSONEncoder().encode(old)
        #expect(!String(decoding: json, as: UTF8.self).contains("\"stores\""), "the old reply's shape")
        let read = try JSONDecoder().decode(QueueStatsReply.self, from: json)
        let stores = read.everyStore
        #expect(stores.count == 1)
        #expect(stores.first?.url == "http://127.0.0.1:8428/api/v1/write" && stores.first?.delivery.mode == "degraded")
        #expect(stores.first?.pendingResults == 42 && stores.first?.droppedResults == 1 && stores.first?.resultsShipped == 3)
        var none = old
        none.remoteWriteConfigured = false
        #expect(none.everyStore.isEmpty)
    }
}
