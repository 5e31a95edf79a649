import CProbe
import ProbeAgentCore
#if canImport(Glibc)
import Glibc
#endif

/// A probe engine (CProbe) owned by one thread.
///
/// `Engine` is deliberately not `Sendable`: create it, submit to it and poll it from the same
/// thread, and never from Swift's cooperative pool — `poll` blocks in `io_uring_enter`.
/// `agentctl` drives it from its main thread.
public final class Engine {
    public struct Options: Sendable {
        /// In-flight table size (rounded up to a power of two). Default 65536.
        public var maxInFlight: UInt32 = 65536
        /// Keep the process's capabilities after opening sockets (tests that open several engines).
        public var keepCapabilities = false
        /// Use the unprivileged ICMP socket even when raw sockets are allowed.
        public var unprivileged = false
        /// User-space clock only.
        public var noKernelTimestamps = false
        public init() {}
    }

    public struct StartError: Error, CustomStringConvertible, Sendable {
        public let code: Int32
        public let message: String
        public var description: String { message }
    }

    /// What the engine could open.
    public struct Info: Sendable, Codable {
        public var icmp4: String   // "raw", "datagram" or "none"
        public var icmp6: String
        public var tcpSyn4: Bool
        public var tcpSyn6: Bool
        public var hadCapNetRaw: Bool
        public var capabilitiesDropped: Bool
        public var maxInFlight: UInt32
    }

    public typealias Stats = cprobe_stats

    private let handle: OpaquePointer
    private var buffer: [cprobe_result]
    private var requests: [cprobe_request] = []
    /// The in-flight table's size (cprobe rounds the option up to a power of two).
    private let maxInFlight: Int

    public init(options: Options = Options()) throws(StartError) {
        var cfg = cprobe_config()
        cfg.max_in_flight = options.maxInFlight
        var flags: UInt32 = 0
        if options.keepCapabilities { flags |= UInt32(CPROBE_CFG_KEEP_CAPS) }
        if options.unprivileged { flags |= UInt32(CPROBE_CFG_NO_RAW) }
        if options.noKernelTimestamps { flags |= UInt32(CPROBE_CFG_NO_TIMESTAMPS) }
        cfg.flags = flags
        var out: OpaquePointer?
        var err = [CChar](repeating: 0, count: 512)
        let rc = cprobe_engine_create(&cfg, &out, &err, err.count)
        guard rc == 0, let out else {
            let text = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw StartError(code: rc, message: text.isEmpty ? "probe engine failed to start (error \(rc))" : text)
        }
        handle = out
        var i = cprobe_info()
        cprobe_engine_info(out, &i)
        maxInFlight = Int(i.max_in_flight)
        buffer = [cprobe_result](repeating: cprobe_result(), count: 4096)
    }

    deinit { cprobe_engine_destroy(handle) }

    public var info: Info {
        var i = cprobe_info()
        cprobe_engine_info(handle, &i)
        func icmp(_ raw: UInt8, _ dgram: UInt8) -> String { raw != 0 ? "raw" : dgram != 0 ? "datagram" : "none" }
        return Info(icmp4: icmp(i.icmp4_raw, i.icmp4_dgram), icmp6: icmp(i.icmp6_raw, i.icmp6_dgram),
                    tcpSyn4: i.tcp4_raw != 0, tcpSyn6: i.tcp6_raw != 0,
                    hadCapNetRaw: i.had_cap_net_raw != 0, capabilitiesDropped: i.caps_dropped != 0,
                    maxInFlight: i.max_in_flight)
    }

    public var stats: Stats {
        var s = cprobe_stats()
        cprobe_engine_stats(handle, &s)
        return s
    }

    public var inFlight: Int { Int(cprobe_engine_in_flight(handle)) }

    /// Interrupts a blocking `poll` from any thread (cprobe_engine_wake is the engine's one
    /// thread-safe call). Valid while the engine is alive: its owner keeps it so until the
    /// thread that polls it has stopped.
    public struct Waker: @unchecked Sendable {
        fileprivate let handle: OpaquePointer
        public func wake() { cprobe_engine_wake(handle) }
    }

    public var waker: Waker { Waker(handle: handle) }

    /// Submits a batch; returns how many were accepted (a prefix). Fewer than `batch.count`
    /// means the in-flight table or the ring is full: keep the rest and submit again after a poll.
    ///
    /// Concrete, not generic over Collection: a generic public method is not specialised for
    /// its caller in another module, and its lazy map then ran through the runtime's metadata
    /// lookups per probe (perf at 200k targets; scripts/bench-scale.sh at 200k: 14.08 → 13.91
    /// µs/probe for the whole process with this change alone, one run each).
    public func submit(_ batch: ArraySlice<ProbeRequest>) -> Int {
        // Only what the in-flight table has room for: converting a start-up backlog of 100k
        // requests every turn cost the loop 10-70 ms a turn (LoopTurnClock's log).
        let room = max(0, maxInFlight - inFlight)
        requests.removeAll(keepingCapacity: true)
        for r in batch.prefix(room) { requests.append(r.cValue) }
        if requests.count < batch.count { cprobe_engine_kept_back(handle, batch.count - requests.count) }
        let n = requests.withUnsafeBufferPointer { cprobe_submit(handle, $0.baseAddress, $0.count) }
        // A burst (start-up, a stalled loop) may have grown the buffer to a whole cadence of
        // probes; keep a tick's worth and more, not that (48 bytes a request, for good).
        if requests.capacity > 16_384 { requests = [] }
        return max(0, Int(n))
    }

    public func submit(_ batch: [ProbeRequest]) -> Int { submit(batch[...]) }

    /// Collects finished results, waiting up to `timeoutMilliseconds` (-1: until one arrives).
    public func poll(timeoutMilliseconds: Int32) -> [ProbeResult] {
        let n = buffer.withUnsafeMutableBufferPointer {
            cprobe_poll(handle, $0.baseAddress, $0.count, timeoutMilliseconds)
        }
        guard n > 0 else { return [] }
        return buffer[0..<Int(n)].map(ProbeResult.init)
    }

    /// Probes everything in `batch` and returns one result per request, in request order.
    /// Handles back-pressure by submitting the remainder as slots free up.
    public func run(_ batch: [ProbeRequest]) -> [ProbeResult] {
        var byCookie: [UInt64: Int] = [:]
        for (i, r) in batch.enumerated() { byCookie[r.cookie] = i }
        var out = [ProbeResult?](repeating: nil, count: batch.count)
        var next = 0, remaining = batch.count
        let maxTimeout = Int(batch.map(\.timeoutMilliseconds).max() ?? 0)
        // Bounded: every request completes by its deadline, so this ends; the guard is a backstop.
        let giveUp = Self.nowMs() + Int64(maxTimeout) * Int64(batch.count / 1024 + 2) + 10_000
        while remaining > 0 && Self.nowMs() < giveUp {
            if next < batch.count { next += submit(batch[next...]) }
            for r in poll(timeoutMilliseconds: 100) {
                if let i = byCookie[r.cookie], out[i] == nil { out[i] = r; remaining -= 1 }
            }
        }
        return out.compactMap { $0 }
    }

    static func nowMs() -> Int64 {
        Int64(MonotonicClock.nanoseconds() / 1_000_000)
    }
}
