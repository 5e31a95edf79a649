/// Config snippets the end-to-end suites share.
enum TestConfig {
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
