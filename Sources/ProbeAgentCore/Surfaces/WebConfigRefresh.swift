/// When the HTTP listener re-reads its web config, and what of a new one it takes.
///
/// The exporter-toolkit re-reads its web config on every request. Here requests look at the
/// files' stamps (``CredentialFile/Stamp``: the web config and the certificate, key and CA it
/// names) at most once per `interval`, and the file is read again only when a stamp changed:
/// a scrape every 15 s costs a few `stat`s, and a new password or a renewed certificate is
/// served within a second of being written.
///
/// Of a new, valid web config, users and headers apply at once, and a new certificate and key
/// at the next TLS handshake. Turning TLS on or off or changing its policy (client
/// certificates, versions, ciphers) needs the listener rebuilt: that part waits for a restart,
/// said in a warning. Pure: the caller passes CLOCK_MONOTONIC ns and the stamps it read.
public struct WebConfigRefresh: Sendable {
    public let intervalNanoseconds: UInt64
    private var lastLook: UInt64
    private var stamps: [CredentialFile.Stamp?]

    /// - Parameters:
    ///   - stamps: The files' stamps when the running web config was read.
    ///   - now: When that was.
    public init(stamps: [CredentialFile.Stamp?], now: UInt64, intervalNanoseconds: UInt64 = 1_000_000_000) {
        self.stamps = stamps
        self.lastLook = now
        self.intervalNanoseconds = intervalNanoseconds
    }

    /// True when the stamps are due a look (and the look is counted from `now`).
    public mutating func due(now: UInt64) -> Bool {
        guard now &- lastLook >= intervalNanoseconds else { return false }
        lastLook = now
        return true
    }

    /// True when `current` differs from the stamps last seen (which become `current`): read the
    /// file again. A failed read is not retried until a stamp changes again.
    public mutating func changed(_ current: [CredentialFile.Stamp?]) -> Bool {
        guard current != stamps else { return false }
        stamps = current
        return true
    }

    /// What a running listener takes of `new`: all of it, except a TLS change it cannot make
    /// live, for which `running`'s TLS stays and a warning says why.
    public static func apply(_ new: WebConfig, over running: WebConfig) -> (config: WebConfig, warning: String?) {
        var taken = new
        switch (running.tls, new.tls) {
        case (nil, nil):
            return (taken, nil)
        case (let old?, let next?) where old.sameExceptCertificate(next):
            return (taken, nil)
        case (nil, _?):
            taken.tls = nil
            return (taken, "tls_server_config added: the listener stays plain HTTP until probe-agent restarts")
        case (_?, nil):
            taken.tls = running.tls
            return (taken, "tls_server_config removed: the listener keeps TLS until probe-agent restarts")
        case (var kept?, let next?):
            (kept.certFile, kept.keyFile) = (next.certFile, next.keyFile) // the certificate still rotates
            taken.tls = kept
            return (taken, "tls_server_config changes other than cert_file and key_file take effect when probe-agent restarts")
        }
    }
}
