import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Hands heap pages freed by a burst of temporary allocations back to the kernel.
///
/// Why: glibc keeps what a thread frees in that thread's arena, and returns only the free
/// space at the arena's top. Encoding the 100k-target status file, a scrape or a reload
/// allocates and frees tens of MB on a Dispatch or NIO thread; without this, the pages stay
/// resident for good (measured at 100k targets: 65 MB of RSS held by free chunks, 650 bytes
/// a target). `malloc_trim(0)` also releases whole free pages in the middle of every arena
/// (madvise), not just the top. Cost: one walk of the free lists, a few ms at 100k targets;
/// called after such bursts only, never per probe.
enum FreedMemory {
    /// `malloc_trim` and `mallopt` are declared in <malloc.h>, which Swift's Glibc module does
    /// not import, so they are looked up once by name; nil on a libc without them (then the
    /// calls below do nothing).
    private static func libc<F>(_ name: String, as type: F.Type) -> F? {
        #if canImport(Glibc)
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(sym, to: type)
        #else
        return nil
        #endif
    }

    private static let trim = libc("malloc_trim", as: (@convention(c) (Int) -> Int32).self)
    private static let mallopt = libc("mallopt", as: (@convention(c) (Int32, Int32) -> Int32).self)

    static func release() { _ = trim?(0) }

    /// ``release()`` on a Dispatch thread, for callers that must not wait for it (the probing
    /// loop after a reload or a burst of due probes, the shipper when a burst has drained).
    ///
    /// Coalesced: at most one trim every ``minimumGap``; a request meanwhile runs one when the
    /// gap is over, so nothing freed after the last trim is left out (bursts come in waves at
    /// start-up: the loop's backlog, then the store's slow first samples).
    static func releaseInBackground() {
        let delay: UInt64? = schedule.withLock { s in
            if s.pending { return nil }
            s.pending = true
            let now = DispatchTime.now().uptimeNanoseconds
            return s.lastRun + minimumGap > now ? s.lastRun + minimumGap - now : 0
        }
        guard let delay else { return }
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .nanoseconds(Int(delay))) {
            // Before the trim: a request during it schedules the next one.
            schedule.withLock { $0 = (pending: false, lastRun: DispatchTime.now().uptimeNanoseconds) }
            release()
        }
    }

    static let minimumGap: UInt64 = 5_000_000_000
    private static let schedule = Mutex((pending: false, lastRun: UInt64(0)))

    /// One malloc arena for the whole process, and no fastbins; call before any thread starts.
    ///
    /// One arena, unless `MALLOC_ARENA_MAX` says otherwise. Why: glibc gives threads arenas of
    /// their own, and memory one thread allocates and another frees (results from the loop,
    /// freed by the shipper; snapshots copied by the loop, freed by HTTP threads) fragments
    /// each of them. Measured at 100k targets with remote write (scripts/bench-scale.sh): 507
    /// bytes of RSS a target with the default arenas, 538 with two, 406 with one; CPU per
    /// probe and lateness unchanged (12.3 vs 12.4 µs, p99 2.0 ms both).
    ///
    /// No fastbins (`M_MXFAST` 0), unless `GLIBC_TUNABLES` sets `glibc.malloc.mxfast`. Why:
    /// with one arena, the ~100k small blocks a discovery refresh or reload frees off the loop
    /// (the replaced label table) sat in fastbins, and the loop's next large allocation
    /// consolidated them all: one turn of 10–14 ms after each refresh at 100k targets
    /// (scripts/bench-sd-refresh.sh --loop-priority realtime: 11 turns over 10 ms in the
    /// refresh window with fastbins, 3 without; quiet window 1 and 2). A small free now
    /// coalesces at once (each thread's tcache still takes the hot sizes first).
    static func configure() {
        if getenv("MALLOC_ARENA_MAX") == nil { _ = mallopt?(-8 /* M_ARENA_MAX, <malloc.h> */, 1) }
        let tunables = getenv("GLIBC_TUNABLES").map { String(cString: $0) } ?? ""
        if !tunables.contains("mxfast") { _ = mallopt?(1 /* M_MXFAST */, 0) }
    }
}
