/// Secrets never leave the config as text: `print`, string interpolation, `dump` and
/// `debugPrint` of a ``RemoteWriteConfig`` (and of an ``AgentConfig`` holding one) show
/// `<secret>` in place of the password, the bearer token and an Authorization header. The
/// `*_file` paths are shown: they are where the secret lives, not the secret.
extension RemoteWriteConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// What stands in for a secret wherever the config is shown.
    public static let redacted = "<secret>"

    public var customMirror: Mirror {
        let shownHeaders = headers.reduce(into: [String: String]()) { out, entry in
            out[entry.key] = Self.isSecretHeader(entry.key) ? Self.redacted : entry.value
        }
        return Mirror(self, children: [
            "name": name, "url": url, "headers": shownHeaders, "basicAuth": basicAuth as Any,
            "bearerToken": bearerToken.map { _ in Self.redacted } as Any, "bearerTokenFile": bearerTokenFile as Any,
            "tls": tls, "externalLabels": externalLabels, "samplesPerRequest": samplesPerRequest,
            "requestsInFlight": requestsInFlight, "flushInterval": flushInterval, "timeout": timeout,
            "backfillRate": backfillRate, "freshFirst": freshFirst,
        ], displayStyle: .struct)
    }

    public var description: String {
        var auth = "none"
        if let b = basicAuth {
            auth = "basic (\(b.username), password \(b.passwordFile.map { "from \($0)" } ?? Self.redacted))"
        } else if bearerToken != nil {
            auth = "bearer \(Self.redacted)"
        } else if let f = bearerTokenFile {
            auth = "bearer from \(f)"
        }
        return "RemoteWriteConfig(name: \(name), url: \(url), auth: \(auth), headers: \(headers.keys.sorted()), "
            + "tls: ca \(tls.caFile ?? "-"), cert \(tls.certFile ?? "-"), key \(tls.keyFile ?? "-"), "
            + "samplesPerRequest: \(samplesPerRequest), requestsInFlight: \(requestsInFlight), "
            + "timeout: \(timeout), backfillRate: \(backfillRate), freshFirst: \(freshFirst))"
    }

    public var debugDescription: String { description }

    /// Headers whose values are credentials (shown redacted).
    static func isSecretHeader(_ name: String) -> Bool {
        ["authorization", "proxy-authorization", "x-api-key", "api-key"].contains(name.lowercased())
    }
}

extension RemoteWriteConfig.BasicAuth: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: ["username": username,
                                "password": password.isEmpty ? "" : RemoteWriteConfig.redacted,
                                "passwordFile": passwordFile as Any], displayStyle: .struct)
    }

    public var description: String {
        "BasicAuth(username: \(username), password: \(passwordFile.map { "from \($0)" } ?? RemoteWriteConfig.redacted))"
    }

    public var debugDescription: String { description }
}
