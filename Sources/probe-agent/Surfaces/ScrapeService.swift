import Foundation
import ProbeAgentCore
import Synchronization

/// What `/metrics` holds besides its page: a place among ``SurfaceLimits/concurrentScrapes``,
/// and the probing loop's snapshot shared by every scrape within its reuse window
/// (``SharedSnapshot``: the decisions; this class only carries them out).
final class ScrapeService: Sendable {
    typealias Answer = Result<LoopSnapshot, LoopUnavailable>

    private let loop: AgentLoop
    private let places = Mutex(ConcurrencyLimit(limit: SurfaceLimits.concurrentScrapes))
    private let shared: Mutex<SharedSnapshot<LoopSnapshot, CheckedContinuation<Answer, Never>>>
    private let cut = Atomic<UInt64>(0)

    init(loop: AgentLoop, reuseNanoseconds: UInt64 = SurfaceLimits.scrapeSnapshotReuseNanoseconds) {
        self.loop = loop
        shared = Mutex(SharedSnapshot(windowNanoseconds: reuseNanoseconds))
    }

    /// A scrape's place; it is given back when the place is released (the response and its
    /// body are done with, however they ended).
    final class Place: Sendable {
        private let service: ScrapeService
        fileprivate init(_ service: ScrapeService) { self.service = service }
        deinit { service.places.withLock { $0.leave() } }
    }

    /// A place, or nil (counted) when every place is taken.
    func enter() -> Place? {
        places.withLock { $0.enter() } ? Place(self) : nil
    }

    /// The shared snapshot: the one kept if it is younger than the window, else the answer to
    /// the one request to the loop that is out.
    func snapshot() async -> Answer {
        await withCheckedContinuation { (k: CheckedContinuation<Answer, Never>) in
            switch shared.withLock({ $0.request(now: MonotonicClock.nanoseconds(), k) }) {
            case .use(let snap): k.resume(returning: .success(snap))
            case .wait: break
            case .fetch: Task { await self.fetch() }
            }
        }
    }

    private func fetch() async {
        let answer = await loop.snapshot()
        let waiters = shared.withLock { $0.fetched(try? answer.get(), now: MonotonicClock.nanoseconds()) }
        for w in waiters { w.resume(returning: answer) }
        guard case .success = answer else { return }
        // Let the tables go once the window is over, not when the next scrape comes (which
        // may be never); the scrapes still reading keep their own reference.
        let window = shared.withLock { $0.windowNanoseconds }
        Task {
            try? await Task.sleep(nanoseconds: window)
            if shared.withLock({ $0.expire(now: MonotonicClock.nanoseconds()) }) { FreedMemory.releaseInBackground() }
        }
    }

    /// A response still being sent at ``SurfaceLimits/scrapeDeadlineSeconds`` was cut.
    func noteCut() { cut.add(1, ordering: .relaxed) }

    /// `probeagent_http_scrape*`: places, refusals, cuts, and how often the loop was asked.
    func render(into w: inout ExpositionWriter) {
        let p = places.withLock { $0 }
        let (fetches, reuses) = shared.withLock { ($0.fetches, $0.reuses) }
        w.header("probeagent_http_scrapes_in_progress", .gauge, "/metrics responses being produced now, this one included.")
        w.sample("probeagent_http_scrapes_in_progress", [], Double(p.inUse))
        w.header("probeagent_http_scrapes_limit", .gauge, "/metrics responses produced at once at most; past it, 503 with Retry-After.")
        w.sample("probeagent_http_scrapes_limit", [], Double(p.limit))
        w.header("probeagent_http_scrapes_refused_total", .counter, "/metrics requests answered 503 because the limit of concurrent scrapes was reached.")
        w.sample("probeagent_http_scrapes_refused_total", [], Double(p.refused))
        w.header("probeagent_http_scrapes_cut_total", .counter, "/metrics responses cut (connection closed) because they were still being sent at the scrape deadline.")
        w.sample("probeagent_http_scrapes_cut_total", [], Double(cut.load(ordering: .relaxed)))
        w.header("probeagent_http_scrape_snapshots_total", .counter, "Snapshots of the probing loop's tables taken for /metrics (at most one per reuse window).")
        w.sample("probeagent_http_scrape_snapshots_total", [], Double(fetches))
        w.header("probeagent_http_scrape_snapshot_reuses_total", .counter, "/metrics responses served from a snapshot another scrape had asked for.")
        w.sample("probeagent_http_scrape_snapshot_reuses_total", [], Double(reuses))
    }
}
