import Yams

extension DiscoveryConfig {
    /// Reads a monitor's `file_sd_configs`, `http_sd_configs` and `shard`.
    static func read(_ fields: Fields, _ what: String, _ reader: inout NodeReader) -> DiscoveryConfig {
        var config = DiscoveryConfig()
        if let n = fields["file_sd_configs"] {
            config.files = list(n, "file_sd_configs of \(what)", &reader) { FileSD.read($0, $1, &$2) }
        }
        if let n = fields["http_sd_configs"] {
            config.http = list(n, "http_sd_configs of \(what)", &reader) { HTTPSD.read($0, $1, &$2) }
        }
        if let n = fields["shard"], let f = reader.fields(n, in: "shard of \(what)", known: ["count", "index"]) {
            let count = reader.require(f, "count", in: "shard of \(what)").flatMap { reader.int($0, "shard.count", in: 1...1_000_000) }
            let indexNode = reader.require(f, "index", in: "shard of \(what)")
            let index = indexNode.flatMap { reader.int($0, "shard.index", in: 0...999_999) }
            if let count, let index, let indexNode {
                if index < count { config.shard = Shard(count: count, index: index) } else {
                    reader.error(at: indexNode, "shard.index \(index) in \(what) must be less than shard.count \(count) (indexes run 0..\(count - 1))")
                }
            }
        }
        return config
    }

    private static func list<T>(_ node: Node, _ what: String, _ reader: inout NodeReader,
                                _ item: (Node, String, inout NodeReader) -> T?) -> [T] {
        guard case .sequence(let items) = node else {
            reader.error(at: node, "expected a list for \(what), found \(NodeReader.describe(node))")
            return []
        }
        return items.compactMap { item($0, "an item of \(what)", &reader) }
    }
}

extension DiscoveryConfig.FileSD {
    static func read(_ node: Node, _ what: String, _ reader: inout NodeReader) -> Self? {
        guard let f = reader.fields(node, in: what, known: ["files", "refresh_interval"]),
              let n = reader.require(f, "files", in: what), let files = reader.stringList(n, "files") else { return nil }
        if files.isEmpty { reader.error(at: n, "files of \(what) is empty; list at least one path or glob") }
        for (path, at) in files where !path.hasPrefix("/") {
            reader.error(at: at, "file_sd path '\(path)' must be absolute (the agent's working directory is not the config's)")
        }
        for (path, at) in files where path.split(separator: "/").dropLast().contains(where: { $0.contains(where: "*?[".contains) }) {
            reader.error(at: at, "file_sd path '\(path)': only the file name may hold a glob (*, ?, [...]), not a directory")
        }
        var config = Self(files: files.map(\.0))
        if let n = f["refresh_interval"], let d = reader.duration(n, "refresh_interval") {
            if d < .seconds(1) { reader.error(at: n, "file_sd refresh_interval must be at least 1s") } else { config.refreshInterval = d }
        }
        return config
    }
}

extension DiscoveryConfig.HTTPSD {
    static let keys = ["url", "refresh_interval", "basic_auth", "authorization", "tls_config"]

    static func read(_ node: Node, _ what: String, _ reader: inout NodeReader) -> Self? {
        guard let f = reader.fields(node, in: what, known: keys),
              let n = reader.require(f, "url", in: what), let url = reader.string(n, "url") else { return nil }
        if !(url.hasPrefix("http://") || url.hasPrefix("https://")) || url.count <= "https://".count {
            reader.error(at: n, "http_sd url '\(url)' must be an http:// or https:// URL")
        }
        var config = Self(url: url)
        if let n = f["refresh_interval"], let d = reader.duration(n, "refresh_interval") {
            if d < .seconds(1) { reader.error(at: n, "http_sd refresh_interval must be at least 1s") } else { config.refreshInterval = d }
        }
        if f["basic_auth"] != nil && f["authorization"] != nil {
            reader.error(at: f["authorization"], "\(what): set basic_auth or authorization, not both")
        }
        if let n = f["basic_auth"],
           let auth = reader.fields(n, in: "http_sd basic_auth", known: ["username", "password", "password_file"]) {
            let user = reader.require(auth, "username", in: "http_sd basic_auth").flatMap { reader.string($0, "username") }
            var password: String?
            var file: String?
            switch (auth["password"], auth["password_file"]) {
            case (let p?, nil): password = reader.string(p, "http_sd basic_auth.password")
            case (nil, let pf?):
                file = RemoteWriteConfig.credentialFile(pf, "http_sd basic_auth.password_file", &reader)
                if file != nil { password = "" }
            case (_?, _?): reader.error(at: n, "http_sd basic_auth: set password or password_file, not both")
            case (nil, nil): reader.error(at: n, "missing required key 'password' (or 'password_file') in http_sd basic_auth")
            }
            if let user, let password { config.basicAuth = .init(username: user, password: password, passwordFile: file) }
        }
        if let n = f["authorization"],
           let auth = reader.fields(n, in: "http_sd authorization", known: ["type", "credentials", "credentials_file"]) {
            if let t = auth["type"], let type = reader.string(t, "authorization.type"), type != "Bearer" {
                reader.error(at: t, "http_sd authorization type '\(type)' is not supported; only Bearer")
            }
            switch (auth["credentials"], auth["credentials_file"]) {
            case (let c?, nil): config.bearerToken = reader.string(c, "authorization.credentials")
            case (nil, let cf?): config.bearerTokenFile = RemoteWriteConfig.credentialFile(cf, "http_sd authorization.credentials_file", &reader)
            case (_?, _?): reader.error(at: n, "http_sd authorization: set credentials or credentials_file, not both")
            case (nil, nil): reader.error(at: n, "missing required key 'credentials' (or 'credentials_file') in http_sd authorization")
            }
        }
        if let n = f["tls_config"], let tls = reader.fields(n, in: "http_sd tls_config", known: ["ca_file", "cert_file", "key_file"]) {
            config.tls.caFile = tls["ca_file"].flatMap { reader.string($0, "tls_config.ca_file") }
            config.tls.certFile = tls["cert_file"].flatMap { reader.string($0, "tls_config.cert_file") }
            config.tls.keyFile = tls["key_file"].flatMap { reader.string($0, "tls_config.key_file") }
            if (tls["cert_file"] == nil) != (tls["key_file"] == nil) {
                reader.error(at: n, "http_sd tls_config: cert_file and key_file go together; set both or neither")
            }
        }
        return config
    }
}
