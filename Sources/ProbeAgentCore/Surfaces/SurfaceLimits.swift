/// The bounds on what clients of the HTTP listener and the admin socket can make the agent
/// hold: connections, time, bytes, concurrent scrapes, followers and waiters. One place, so the
/// servers, the README and the tests agree.
public enum SurfaceLimits {
    /// Open connections per listener; past it, new ones wait in the kernel's accept backlog.
    public static let httpConnections = 64
    public static let adminConnections = 32
    /// A connection with no request in progress (or one whose request head or body stops
    /// coming) is closed after this.
    public static let idleTimeoutSeconds: Int64 = 10
    /// Request header bytes (all fields together); more is a 400 and a closed connection.
    public static let headerBytes = 16 * 1024
    /// Request body bytes on either listener (none of their endpoints reads more than a few).
    public static let bodyBytes = 64 * 1024

    /// `/metrics` responses being produced at once; past it, 503 with `Retry-After`.
    ///
    /// Each holds its loop snapshot's tables (which the loop then copies) and the renderer's
    /// label index for as long as its client reads: +25–32 MB of RSS at 100k targets, about
    /// what the agent holds per target when idle. Three keep slow clients within 2× the idle
    /// RSS (1.75–1.87×; four reached 1.96–2.00×: scripts/bench-scrape.sh, README) and serve a
    /// Prometheus pair and one more client at once.
    public static let concurrentScrapes = 3
    /// The `Retry-After` of a 503 for a scrape or a follower past its cap.
    public static let retryAfterSeconds = 5
    /// How long one loop snapshot serves new scrapes (``SharedSnapshot``).
    public static let scrapeSnapshotReuseNanoseconds: UInt64 = 5_000_000_000
    /// A `/metrics` response still being sent after this is cut (the connection closed), so a
    /// client reading slowly cannot hold a scrape place and its snapshot for long.
    public static let scrapeDeadlineSeconds: Int64 = 120

    /// Clients following the event stream at once; past it, 503.
    public static let eventFollowers = 16
    /// A follower that takes no event for this long is dropped.
    public static let followerStallSeconds: Int64 = 30

    /// Admin requests waiting for the probing loop's summary, and for its snapshot, at once;
    /// past it, 503 with `Retry-After: 1` (the loop answers them all at its next turn, within
    /// a second). A backstop: today the admin socket's 32 connections (one request each at a
    /// time) and the scrapes' shared snapshot (one request out at a time) keep them below it.
    public static let loopWaiters = 64
}
