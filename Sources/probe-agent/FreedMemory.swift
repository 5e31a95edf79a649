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
    /// `malloc_trim` is declared in <malloc.h>, which Swift's Glibc module does not import, so
    /// it is looked up once by name; nil on a libc without it (then this does nothing).
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(sym, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    static func release() { _ = trim?(0) }
}
