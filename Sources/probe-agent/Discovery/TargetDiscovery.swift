import AdminAPI
import Dispatch
import Foundation
import Logging
import ProbeAgentCore
import Synchronization

/// Runs every monitor's discovery sources off the probing loop and hands the loop each change
/// as a ready config (``PreparedConfig``): the file's config with every source's latest good
/// targets merged in and the shards taken. Config reloads pass through here too, so a reload
/// keeps the discovered targets of sources whose settings did not change.
///
/// Decisions are in ProbeAgentCore (``DiscoverySource``, ``FileSDWatch``, ``TargetGroup``,
/// ``MonitorConfig/probing(discovered:)``); this only globs, stats, reads files and sends GETs
/// (``HTTPDiscoveryClient``) on a queue of its own, polled twice a second. A failing source
/// keeps its last good targets and is reported: a log line and an admin event when its reason
/// changes, and `probeagent_sd_failures_total{monitor,source}` on every failure.
final class TargetDiscovery: @unchecked Sendable {
    static let pollInterval: DispatchTimeInterval = .milliseconds(500)

    /// One source of one monitor; the same settings at the same place keep their state
    /// across reloads.
    struct Key: Hashable {
        var monitor: String
        var ordinal: Int
        var file: DiscoveryConfig.FileSD?
        var http: DiscoveryConfig.HTTPSD?
    }

    private struct Running {
        var state: DiscoverySource
        var watch = FileSDWatch()
        var fetching = false
    }

    /// What `/metrics` shows of one source.
    struct SourceStats: Sendable {
        var monitor: String
        var source: String
        var failures: UInt64
        var targets: Int
        /// Unix seconds of the latest good answer.
        var lastSuccess: Double?
    }

    private let queue = DispatchQueue(label: "probe-agent.discovery")
    private let deliver: @Sendable (ReloadOutcome) -> Void
    private let events: EventHub
    private let log: Logger
    private let limits: DiscoveryLimits
    private let http = HTTPDiscoveryClient()
    private let published = Mutex<[SourceStats]>([])
    // Touched only on `queue`:
    private var config: AgentConfig
    private var running: AgentConfig
    private var sources: [Key: Running] = [:]
    private var timer: DispatchSourceTimer?

    /// - Parameters:
    ///   - config: the config as loaded at start.
    ///   - running: what the loop was started with (`config.probing(discovered: [:])`).
    ///   - deliver: hands a prepared config to the loop.
    init(config: AgentConfig, running: AgentConfig, events: EventHub, log: Logger, limits: DiscoveryLimits = .standard,
         deliver: @escaping @Sendable (ReloadOutcome) -> Void) {
        (self.config, self.running, self.events, self.log, self.limits, self.deliver) = (config, running, events, log, limits, deliver)
        syncSources(now: MonotonicClock.nanoseconds())
    }

    func start() {
        queue.async {
            let t = DispatchSource.makeTimerSource(queue: self.queue)
            t.schedule(deadline: .now(), repeating: Self.pollInterval)
            t.setEventHandler { [weak self] in self?.poll() }
            t.resume()
            self.timer = t
        }
    }

    func stop() {
        queue.sync { timer?.cancel() }
        http.shutdown()
    }

    /// Every source's counters, for `/metrics`.
    var stats: [SourceStats] { published.withLock { $0 } }

    /// A config the reloader loaded (or why it refused the file): merged with the sources'
    /// targets and passed on to the loop.
    func configLoaded(_ outcome: ReloadOutcome) {
        queue.async { [self] in
            guard let loaded = outcome.loaded else { return deliver(outcome) }
            config = loaded
            syncSources(now: MonotonicClock.nanoseconds())
            var ready = outcome
            ready.prepared = prepare()
            deliver(ready)
            poll() // new sources answer now, not at the next tick
        }
    }

    /// The sources the config names: new ones start (due at once), removed ones go, unchanged
    /// ones keep their last good targets.
    private func syncSources(now: UInt64) {
        var next: [Key: Running] = [:]
        for m in config.monitors {
            for (i, f) in m.discovery.files.enumerated() {
                let key = Key(monitor: m.id, ordinal: i, file: f)
                next[key] = sources[key] ?? Running(state: DiscoverySource(name: "file:" + f.files.joined(separator: ","),
                                                                           refresh: f.refreshInterval, now: now))
            }
            for (i, h) in m.discovery.http.enumerated() {
                let key = Key(monitor: m.id, ordinal: m.discovery.files.count + i, http: h)
                next[key] = sources[key] ?? Running(state: DiscoverySource(name: "http:" + h.redactedURL,
                                                                           refresh: h.refreshInterval, now: now))
            }
        }
        sources = next
        publishStats()
    }

    private func poll() {
        let now = MonotonicClock.nanoseconds()
        var changed: [String] = []
        for key in sources.keys.sorted(by: { ($0.monitor, $0.ordinal) < ($1.monitor, $1.ordinal) }) {
            guard var source = sources[key] else { continue }
            if let file = key.file {
                if pollFiles(file, &source, monitor: key.monitor, now: now) { changed.append(source.state.name) }
            } else if let h = key.http, source.state.isDue(now: now), !source.fetching {
                source.state.refreshing(now: now)
                source.fetching = true
                Task { [self] in
                    let answer = await http.fetch(h, limits: limits)
                    queue.async { self.fetched(key, answer) }
                }
            }
            sources[key] = source
        }
        if !changed.isEmpty { publish(reason: changed) }
        publishStats()
    }

    /// Reads the files of one file_sd entry that are due; returns whether its groups changed.
    private func pollFiles(_ file: DiscoveryConfig.FileSD, _ source: inout Running, monitor: String, now: UInt64) -> Bool {
        let full = source.state.isDue(now: now)
        if full { source.state.refreshing(now: now) }
        let listing = FileGlob.listing(file.files)
        let (read, vanished) = source.watch.poll(listing, full: full, now: now)
        var changed = false
        for path in vanished { changed = source.state.vanished(part: path) || changed }
        for path in read {
            source.watch.didRead(path, stamp: CredentialFile.stamp(path))
            let result: Result<[TargetGroup], ConfigErrors>
            switch ConfigFileReader.read(path, maxBytes: limits.maxBytes) {
            case .success(let bytes): result = Result { () throws(ConfigErrors) in try TargetGroup.parse(bytes, source: path, limits: limits) }
            case .failure(let e): result = .failure(ConfigErrors([e]))
            }
            switch result {
            case .success(let groups): changed = source.state.answered(part: path, groups, now: now) || changed
            case .failure(let e): report(source: &source.state, part: path, monitor: monitor, e.description)
            }
        }
        return changed
    }

    private func fetched(_ key: Key, _ answer: Result<[UInt8], DiscoveryFailure>) {
        guard var source = sources[key] else { return } // removed by a reload meanwhile
        source.fetching = false
        let now = MonotonicClock.nanoseconds()
        var changed = false
        switch answer {
        case .success(let body):
            do throws(ConfigErrors) {
                changed = source.state.answered(part: "", try TargetGroup.parse(body, source: key.http?.redactedURL ?? "?", limits: limits), now: now)
            } catch {
                report(source: &source.state, part: "", monitor: key.monitor, error.description)
            }
        case .failure(let why): report(source: &source.state, part: "", monitor: key.monitor, why.description)
        }
        sources[key] = source
        if changed { publish(reason: [source.state.name]) }
        publishStats()
    }

    private func report(source: inout DiscoverySource, part: String, monitor: String, _ why: String) {
        guard source.failed(part: part, why) else { return }
        events.publish(AgentEvent(kind: .discoveryFailed, monitor: monitor,
                                  message: "discovery \(source.name) of monitor \(monitor) failed, keeping its last good targets: \(why)"))
    }

    /// Hands the loop the config with every source's latest good targets.
    private func publish(reason: [String]) {
        let prepared = prepare()
        deliver(ReloadOutcome(prepared: prepared, reason: "discovery " + reason.joined(separator: ", ")))
    }

    private func prepare() -> PreparedConfig {
        var discovered: [String: [[TargetGroup]]] = [:]
        for (key, source) in sources.sorted(by: { ($0.key.monitor, $0.key.ordinal) < ($1.key.monitor, $1.key.ordinal) }) {
            discovered[key.monitor, default: []].append(source.state.groups)
        }
        let next = config.probing(discovered: discovered)
        let prepared = PreparedConfig(next, running: running)
        running = next
        return prepared
    }

    private func publishStats() {
        let wallOffset = Date().timeIntervalSince1970 - Double(MonotonicClock.nanoseconds()) / 1e9
        let list = sources.sorted { ($0.key.monitor, $0.key.ordinal) < ($1.key.monitor, $1.key.ordinal) }.map { key, s in
            SourceStats(monitor: key.monitor, source: s.state.name, failures: s.state.failures,
                        targets: s.state.targetCount,
                        lastSuccess: s.state.lastSuccessAt.map { wallOffset + Double($0) / 1e9 })
        }
        published.withLock { $0 = list }
    }
}
