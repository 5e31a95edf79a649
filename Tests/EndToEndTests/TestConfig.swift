import Foundation

/// Config snippets the end-to-end suites share.
enum TestConfig {
    /// `spill` in `dir` (fsync every 200 ms) and `remote_write` to `store` in small, quick
    /// requests (60 samples, flushed every 200 ms, 1 s timeout); `more` adds lines to
    /// remote_write.
    static func delivery(store: String, spill: URL, more: String = "") -> String {
        """
        spill:
          dir: \(spill.path)
          fsync_interval: 200ms
        remote_write:
          url: \(store)
          samples_per_request: 60
          flush_interval: 200ms
          timeout: 1s
        """ + (more.isEmpty ? "" : "\n" + more)
    }

    /// One monitor `closed`: TCP connect to port 1 of each loopback target, refused at once,
    /// so each target gives a result a second without any network or capability.
    static func closedPort(_ targets: [String]) -> String {
        """
        monitors:
          - id: closed
            protocol: tcp-connect
            port: 1
            cadence: 1s
            timeout: 200ms
            targets: [\(targets.joined(separator: ", "))]
        """
    }
}
