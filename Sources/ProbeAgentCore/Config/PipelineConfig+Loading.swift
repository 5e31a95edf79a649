import Foundation
import Yams

extension SchedulerConfig {
    mutating func read(_ node: Node, _ reader: inout NodeReader) {
        let keys = ["tick", "max_probes_per_second", "resolve_interval", "resolve_timeout", "loop_priority",
                    "path_probes_per_second"]
        guard let f = reader.fields(node, in: "scheduler", known: keys) else { return }
        if let n = f["tick"], let value = reader.duration(n, "scheduler.tick") {
            if value < .milliseconds(1) || value > .seconds(1) {
                reader.error(at: n, "scheduler.tick \(DurationParser.format(value)) must be between 1ms and 1s")
            } else {
                tick = value
            }
        }
        if let n = f["max_probes_per_second"] {
            maxProbesPerSecond = reader.int(n, "scheduler.max_probes_per_second", in: 1...10_000_000)
        }
        if let n = f["path_probes_per_second"], let v = reader.int(n, "scheduler.path_probes_per_second", in: 1...1_000_000) {
            pathProbesPerSecond = v
        }
        if let n = f["resolve_interval"], let value = reader.duration(n, "scheduler.resolve_interval") {
            resolveInterval = value
        }
        if let n = f["resolve_timeout"], let value = reader.duration(n, "scheduler.resolve_timeout") {
            if value < .milliseconds(100) || value > .seconds(60) {
                reader.error(at: n, "scheduler.resolve_timeout \(DurationParser.format(value)) must be between 100ms and 60s")
            } else {
                resolveTimeout = value
            }
        }
        if let n = f["loop_priority"], let text = reader.string(n, "scheduler.loop_priority") {
            if let value = LoopPriority(rawValue: text) {
                loopPriority = value
            } else {
                let names = LoopPriority.allCases.map(\.rawValue).joined(separator: ", ")
                reader.error(at: n, "unknown scheduler.loop_priority '\(text)'; expected one of \(names)")
            }
        }
    }
}

extension QueueConfig {
    mutating func read(_ node: Node, _ reader: inout NodeReader) {
        guard let f = reader.fields(node, in: "queue", known: ["mem_items_cap"]) else { return }
        guard let n = f["mem_items_cap"] else { return }
        if case .scalar(let s) = n, s.style == .plain, s.string == "auto" {
            memItemsCap = nil
        } else if let value = reader.int(n, "queue.mem_items_cap", in: 1...100_000_000, or: "auto") {
            memItemsCap = value
        }
    }
}

extension SpillConfig {
    mutating func read(_ node: Node, _ reader: inout NodeReader) {
        let keys = ["dir", "max_bytes", "max_age", "fsync_interval", "mode", "dead_letter_max_bytes"]
        guard let f = reader.fields(node, in: "spill", known: keys) else { return }
        if let n = f["dir"], let value = reader.string(n, "spill.dir") {
            if value.isEmpty { reader.error(at: n, "spill.dir must not be empty") } else { directory = value }
        }
        if let n = f["max_bytes"], let value = reader.byteSize(n, "spill.max_bytes") { maxBytes = value }
        if let n = f["max_age"], let value = reader.duration(n, "spill.max_age") { maxAge = value }
        if let n = f["fsync_interval"], let value = reader.duration(n, "spill.fsync_interval") { fsyncInterval = value }
        if let n = f["mode"], let text = reader.string(n, "spill.mode") {
            if let value = SpillMode(rawValue: text) {
                mode = value
            } else {
                reader.error(at: n, "unknown spill.mode '\(text)'; expected write_ahead or on_failure")
            }
        }
        if let n = f["dead_letter_max_bytes"], let value = reader.byteSize(n, "spill.dead_letter_max_bytes") {
            deadLetterMaxBytes = value
        }
    }
}

extension RemoteWriteConfig {
    /// `remote_write:` as one mapping (one store) or a list of them (several stores), with
    /// unique names. Several stores need `spill.mode: write_ahead`: they read one log.
    static func readAll(_ node: Node, _ reader: inout NodeReader, spillMode: SpillMode, defaultAgent: String) -> [RemoteWriteConfig] {
        guard case .sequence(let items) = node else {
            return read(node, &reader, spillMode: spillMode, defaultAgent: defaultAgent).map { [$0] } ?? []
        }
        if items.isEmpty { reader.error(at: node, "remote_write is an empty list; give at least one endpoint or leave remote_write out") }
        if items.count > 16 { reader.error(at: node, "remote_write lists \(items.count) endpoints; at most 16") }
        if items.count > 1 && spillMode == .onFailure {
            reader.error(at: node, "several remote_write endpoints need spill.mode: write_ahead (each reads the one spill log at its own position)")
        }
        var all: [RemoteWriteConfig] = []
        var seen: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            guard let config = read(item, &reader, spillMode: spillMode, defaultAgent: defaultAgent, at: "remote_write[\(i)]") else { continue }
            if let other = seen[config.name] {
                let place = item.mapping?["name"] ?? item
                reader.error(at: place, "remote_write[\(i)] is named '\(config.name)' like remote_write[\(other)]; "
                             + "names must be unique (set name: on one of them; the default is the URL's host and port)")
            }
            seen[config.name] = i
            all.append(config)
        }
        return all
    }

    static let keys = ["name", "url", "headers", "basic_auth", "bearer_token", "bearer_token_file", "tls", "external_labels",
                       "samples_per_request", "requests_in_flight", "flush_interval", "timeout", "backfill_rate",
                       "fresh_first", "stall_timeout"]

    /// - Parameter defaultAgent: without `external_labels`, every series gets `agent: <this>`
    ///   (the host name), so a fleet's series stay apart with no per-host config.
    ///   `at`: where the endpoint is, for messages (`remote_write`, `remote_write[1]`).
    static func read(_ node: Node, _ reader: inout NodeReader, spillMode: SpillMode, defaultAgent: String,
                     at section: String = "remote_write") -> RemoteWriteConfig? {
        guard let f = reader.fields(node, in: section, known: keys),
              let urlNode = reader.require(f, "url", in: section),
              let url = reader.string(urlNode, "\(section).url") else { return nil }
        if !(url.hasPrefix("http://") || url.hasPrefix("https://")) || url.count <= "https://".count {
            reader.error(at: urlNode, "\(section).url '\(url)' must be an http:// or https:// URL")
        }
        var config = RemoteWriteConfig(url: url)
        if let n = f["name"], let name = reader.string(n, "\(section).name") {
            if RemoteWriteConfig.isValidName(name) {
                config.name = name
            } else {
                reader.error(at: n, "\(section).name '\(name)' must be 1 to 64 of A-Z a-z 0-9 _ . - and not start with a dot")
            }
        }
        if let n = f["headers"] {
            for (key, _, value) in reader.stringMap(n, "\(section).headers") ?? [] { config.headers[key] = value }
        }
        config.readCredentials(f, &reader, section)
        if let n = f["tls"], let tls = reader.fields(n, in: "\(section).tls", known: ["ca_file", "cert_file", "key_file"]) {
            config.tls.caFile = tls["ca_file"].flatMap { reader.string($0, "tls.ca_file") }
            config.tls.certFile = tls["cert_file"].flatMap { reader.string($0, "tls.cert_file") }
            config.tls.keyFile = tls["key_file"].flatMap { reader.string($0, "tls.key_file") }
            if (tls["cert_file"] == nil) != (tls["key_file"] == nil) {
                reader.error(at: n, "\(section).tls: cert_file and key_file go together; set both or neither")
            }
        }
        if let n = f["external_labels"] {
            config.externalLabels = LabelRules.read(n, "\(section).external_labels", reserved: false, &reader)
        } else {
            config.externalLabels = ["agent": defaultAgent]
        }
        if let n = f["samples_per_request"], let value = reader.int(n, "\(section).samples_per_request", in: 1...1_000_000) {
            config.samplesPerRequest = value
        }
        if let n = f["requests_in_flight"], let value = reader.int(n, "\(section).requests_in_flight", in: 1...64) {
            config.requestsInFlight = value
        }
        if let n = f["flush_interval"], let value = reader.duration(n, "\(section).flush_interval") {
            config.flushInterval = value
        }
        if let n = f["timeout"], let value = reader.duration(n, "\(section).timeout") {
            config.timeout = value
        }
        if let n = f["backfill_rate"], let value = reader.int(n, "\(section).backfill_rate", in: 1...10_000_000) {
            config.backfillRate = value
        }
        if let n = f["fresh_first"], let value = reader.bool(n, "\(section).fresh_first") {
            config.freshFirst = value
            if value && spillMode == .writeAhead {
                reader.error(at: n, "\(section).fresh_first needs spill.mode: on_failure (write-ahead delivery sends every series in log order)")
            }
        }
        if let n = f["stall_timeout"], let value = reader.duration(n, "\(section).stall_timeout") {
            if value < .seconds(1) { reader.error(at: n, "\(section).stall_timeout must be at least 1s") } else { config.stallTimeout = value }
        }
        return config
    }
}

extension RemoteWriteConfig {
    /// `basic_auth` (`password` or `password_file`), `bearer_token` or `bearer_token_file`: one
    /// way at most. A credential file must be readable now and not empty (the shipper re-reads
    /// it when it changes); its contents never appear in a message.
    mutating func readCredentials(_ f: Fields, _ reader: inout NodeReader, _ section: String) {
        let ways = ["basic_auth", "bearer_token", "bearer_token_file"].filter { f[$0] != nil }
        if ways.count > 1, let n = f[ways[1]] {
            reader.error(at: n, "\(section): set only one of basic_auth, bearer_token and bearer_token_file (found \(ways.joined(separator: " and ")))")
        }
        if let n = f["basic_auth"],
           let auth = reader.fields(n, in: "\(section).basic_auth", known: ["username", "password", "password_file"]) {
            let user = reader.require(auth, "username", in: "\(section).basic_auth").flatMap { reader.string($0, "username") }
            var password: String?, passwordFile: String?
            switch (auth["password"], auth["password_file"]) {
            case (.some, let pf?):
                reader.error(at: pf, "\(section).basic_auth: set password or password_file, not both")
            case (let p?, nil):
                password = reader.string(p, "\(section).basic_auth.password")
            case (nil, let pf?):
                passwordFile = Self.credentialFile(pf, "\(section).basic_auth.password_file", &reader)
                if passwordFile != nil { password = "" }
            case (nil, nil):
                reader.error(at: n, "missing required key 'password' (or 'password_file') in \(section).basic_auth")
            }
            if let user, let password { basicAuth = BasicAuth(username: user, password: password, passwordFile: passwordFile) }
        }
        if let n = f["bearer_token"] { bearerToken = reader.string(n, "\(section).bearer_token") }
        if let n = f["bearer_token_file"] { bearerTokenFile = Self.credentialFile(n, "\(section).bearer_token_file", &reader) }
    }

    /// A credential file's path, after checking it can be read and holds something.
    static func credentialFile(_ node: Node, _ what: String, _ reader: inout NodeReader) -> String? {
        guard let path = reader.string(node, what) else { return nil }
        guard !path.isEmpty else {
            reader.error(at: node, "\(what) must not be empty")
            return nil
        }
        switch CredentialFile.read(path) {
        case .success(let text) where text.isEmpty:
            reader.error(at: node, "\(what) '\(path)' is empty")
            return nil
        case .success:
            return path
        case .failure(let e):
            reader.error(at: node, "\(what) '\(path)': \(e.reason)")
            return nil
        }
    }
}

extension HTTPConfig {
    mutating func read(_ node: Node, _ reader: inout NodeReader) {
        guard let f = reader.fields(node, in: "http", known: ["listen", "web_config_file"]) else { return }
        if let n = f["web_config_file"], let value = reader.string(n, "http.web_config_file") {
            if value.isEmpty { reader.error(at: n, "http.web_config_file is empty") } else { webConfigFile = value }
        }
        guard let n = f["listen"], let value = reader.string(n, "http.listen") else { return }
        if Self.isValidListen(value) {
            listen = value
        } else {
            reader.error(at: n, "http.listen '\(value)' must be host:port, e.g. 127.0.0.1:9469 or [::1]:9469")
        }
    }

    /// `host:port` with an IPv4 literal, a hostname, or a bracketed IPv6 literal, and a port
    /// 0…65535 (0: any free port).
    static func isValidListen(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return false }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            return TargetAddress.parseIPv6(host) != nil
        }
        return !host.contains(":") && TargetAddress(parsing: host) != nil
    }
}

extension AdminConfig {
    mutating func read(_ node: Node, _ reader: inout NodeReader) {
        guard let f = reader.fields(node, in: "admin", known: ["socket"]),
              let n = f["socket"], let value = reader.string(n, "admin.socket") else { return }
        if value.hasPrefix("/") { socketPath = value } else { reader.error(at: n, "admin.socket '\(value)' must be an absolute path") }
    }
}

extension MetricsConfig {
    mutating func read(_ node: Node, _ reader: inout NodeReader) {
        guard let f = reader.fields(node, in: "metrics", known: ["per_target_histograms", "rtt_buckets"]) else { return }
        if let n = f["per_target_histograms"], let value = reader.bool(n, "metrics.per_target_histograms") {
            perTargetHistograms = value
        }
        guard let n = f["rtt_buckets"], let items = reader.stringList(n, "metrics.rtt_buckets") else { return }
        var bounds: [Duration] = []
        for (text, item) in items {
            guard let d = DurationParser.parse(text), d > .zero else {
                reader.error(at: item, "invalid bucket '\(text)' in metrics.rtt_buckets; use a positive duration such as 500us or 2.5ms")
                return
            }
            if let last = bounds.last, d <= last {
                reader.error(at: item, "metrics.rtt_buckets must be strictly increasing: \(text) follows \(DurationParser.format(last))")
                return
            }
            bounds.append(d)
        }
        if bounds.isEmpty || bounds.count > 40 {
            reader.error(at: n, "metrics.rtt_buckets needs 1 to 40 bounds, got \(bounds.count)")
            return
        }
        rttBuckets = bounds
    }
}
