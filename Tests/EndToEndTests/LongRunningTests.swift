import Testing

/// The end-to-end suites that hold a thread for a minute or more (receiver outages, kill -9
/// with a slow store) run one at a time. Swift Testing runs synchronous tests on the
/// cooperative pool, two threads on this two-core machine: two such tests at once held both,
/// and the queued short tests ran out their time limits (five at once in one full run).
@Suite(.serialized) enum LongRunningTests {}
