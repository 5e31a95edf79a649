import Foundation
import Yams

extension WebConfig {
    /// What a web config file may cost: it holds a few paths and hashes.
    public static let limits = ConfigLimits(maxBytes: 1 << 20)

    /// Reads and validates a web config file.
    ///
    /// Every problem is collected with its `file:line:column` (unknown keys with a suggestion,
    /// a missing `cert_file`, a hash that is not bcrypt, an unknown TLS version …). Whether the
    /// files it names can be read, and hold a certificate and key, is for the TLS glue to check
    /// (it is the one that loads them).
    ///
    /// - Parameter path: The file; relative paths inside it are resolved against its directory.
    /// - Returns: The validated web config.
    /// - Throws: ``ConfigErrors``; an unreadable or oversized file is one error at 0:0.
    public static func load(contentsOf path: String) throws(ConfigErrors) -> WebConfig {
        switch ConfigFileReader.read(path, maxBytes: limits.maxBytes) {
        case .failure(var error):
            error.message = error.message.replacingOccurrences(of: "cannot read config", with: "cannot read web config")
            throw ConfigErrors([error])
        case .success(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ConfigErrors([TextPosition.notUTF8(bytes, file: path)])
            }
            return try load(yaml: text, file: path, directory: (path as NSString).deletingLastPathComponent)
        }
    }

    /// Parses and validates a web config document.
    ///
    /// - Parameters:
    ///   - yaml: The document.
    ///   - file: The name for error positions.
    ///   - directory: What relative file paths in it are relative to ("" : the working directory).
    public static func load(yaml: String, file: String, directory: String) throws(ConfigErrors) -> WebConfig {
        if let violation = YAMLLimitScan.firstViolation(yaml, file: file, limits: limits) {
            throw ConfigErrors([violation])
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigErrors([AgentConfig.syntaxError(error, file: file)])
        }
        var reader = NodeReader(file: file)
        var config = WebConfig()
        // An empty file is a valid web config that asks for nothing (as in the toolkit).
        if let root, let f = reader.fields(root, in: "the web config", known: topLevelKeys) {
            if let n = f["tls_server_config"] { config.tls = TLS.read(n, directory: directory, &reader) }
            if let n = f["http_server_config"] { config.headers = readHTTPServerConfig(n, &reader) }
            if let n = f["basic_auth_users"] { config.basicAuthUsers = readUsers(n, &reader) }
            if let n = f["rate_limit"] { reader.error(at: n, "rate_limit is not supported by probe-agent (its listener caps connections and concurrent scrapes instead)") }
        }
        if !reader.errors.isEmpty { throw ConfigErrors(reader.errors) }
        return config
    }

    static let topLevelKeys = ["tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"]

    /// The headers the toolkit lets a web config set, and the values it accepts for some.
    static let allowedHeaders: [String: Set<String>?] = [
        "Content-Security-Policy": nil, "X-Frame-Options": ["deny", "sameorigin"],
        "X-Content-Type-Options": ["nosniff"], "X-XSS-Protection": nil, "Strict-Transport-Security": nil,
    ]

    private static func readHTTPServerConfig(_ node: Node, _ reader: inout NodeReader) -> [Header] {
        guard let f = reader.fields(node, in: "http_server_config", known: ["headers", "http2"]) else { return [] }
        if let n = f["http2"] { _ = reader.bool(n, "http_server_config.http2") } // HTTP/1.1 only: no effect
        guard let n = f["headers"], let entries = reader.stringMap(n, "http_server_config.headers") else { return [] }
        var headers: [Header] = []
        for entry in entries {
            guard let allowed = allowedHeaders[entry.key] else {
                let names = allowedHeaders.keys.sorted().joined(separator: ", ")
                reader.error(at: entry.keyNode, "header '\(entry.key)' cannot be set in http_server_config.headers; allowed: \(names)")
                continue
            }
            if entry.value.isEmpty { continue } // blank: unset, as in the toolkit
            if let allowed, !allowed.contains(entry.value.lowercased()) {
                reader.error(at: entry.keyNode, "invalid value '\(entry.value)' for header \(entry.key); expected one of \(allowed.sorted().joined(separator: ", "))")
                continue
            }
            if entry.value.contains(where: { $0 == "\r" || $0 == "\n" }) {
                reader.error(at: entry.keyNode, "the value of header \(entry.key) contains a line break")
                continue
            }
            headers.append(Header(name: entry.key, value: entry.value))
        }
        return headers
    }

    private static func readUsers(_ node: Node, _ reader: inout NodeReader) -> [String: String] {
        if node.null != nil { return [:] }
        guard let entries = reader.stringMap(node, "basic_auth_users") else { return [:] }
        var users: [String: String] = [:]
        for entry in entries {
            if entry.key.isEmpty || entry.key.contains(":") {
                reader.error(at: entry.keyNode, "basic_auth_users: user name '\(entry.key)' must be non-empty and without ':'")
            } else if !isBcryptHash(entry.value) {
                reader.error(at: entry.keyNode, "basic_auth_users.\(entry.key) is not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04–31, 53 characters after it); make one with `htpasswd -nbBC 10 \"\" PASSWORD | tr -d ':\\n'`")
            } else {
                users[entry.key] = entry.value
            }
        }
        return users
    }

    /// `$2a$`/`$2b$`/`$2y$`, a two-digit cost 04…31, `$`, then 22 salt and 31 hash characters
    /// of bcrypt's base64 alphabet.
    public static func isBcryptHash(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 60, b[0] == UInt8(ascii: "$"), b[1] == UInt8(ascii: "2"), b[3] == UInt8(ascii: "$"),
              b[6] == UInt8(ascii: "$"), [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(b[2]),
              let cost = Int(String(decoding: b[4...5], as: UTF8.self)), (4...31).contains(cost) else { return false }
        return b[7...].allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: ".") || c == UInt8(ascii: "/")
        }
    }
}

extension WebConfig.TLS {
    static let keys = ["cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version",
                       "cipher_suites", "prefer_server_cipher_suites", "cert", "key", "client_ca",
                       "client_allowed_sans", "curve_preferences"]
    /// Keys of the toolkit's format that probe-agent refuses rather than ignores, with what to
    /// use instead.
    static let unsupported: [(key: String, instead: String)] = [
        ("cert", "; use cert_file"), ("key", "; use key_file"), ("client_ca", "; use client_ca_file"),
        ("client_allowed_sans", ""), ("curve_preferences", ""),
    ]

    /// The TLS ≤ 1.2 cipher suites Go's `tls.CipherSuites()` offers (the toolkit's choice), by
    /// their Go names, as IANA codes.
    static let cipherSuiteCodes: [String: UInt16] = [
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": 0xC009, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": 0xC00A,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": 0xC013, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": 0xC014,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": 0xC02C,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xC02F, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": 0xC030,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA8, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA9,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": 0xCCA8, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": 0xCCA9,
    ]

    static func read(_ node: Node, directory: String, _ reader: inout NodeReader) -> Self? {
        guard let f = reader.fields(node, in: "tls_server_config", known: keys) else { return nil }
        for (key, instead) in unsupported {
            if let n = f[key] { reader.error(at: n, "tls_server_config.\(key) is not supported by probe-agent\(instead)") }
        }
        func path(_ key: String) -> String? {
            guard let n = f[key], let p = reader.string(n, "tls_server_config.\(key)") else { return nil }
            guard !p.isEmpty else { reader.error(at: n, "tls_server_config.\(key) is empty"); return nil }
            return p.hasPrefix("/") || directory.isEmpty ? p : directory + "/" + p
        }
        let cert = path("cert_file"), key = path("key_file")
        if f["cert_file"] == nil { reader.error(at: f.node, "missing cert_file in tls_server_config") }
        if f["key_file"] == nil { reader.error(at: f.node, "missing key_file in tls_server_config") }
        guard let cert, let key else { return nil }
        var tls = Self(certFile: cert, keyFile: key)
        tls.clientCAFile = path("client_ca_file")
        if let n = f["client_auth_type"], let text = reader.string(n, "tls_server_config.client_auth_type") {
            if let value = WebConfig.ClientAuth(rawValue: text) {
                tls.clientAuth = value
            } else {
                let names = WebConfig.ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")
                let why = ["RequestClientCert", "RequireAnyClientCert"].contains(text) ? " (it accepts unverified client certificates)" : ""
                reader.error(at: n, "client_auth_type '\(text)' is not supported\(why); expected one of \(names)")
            }
        }
        if tls.clientAuth != .none && tls.clientCAFile == nil {
            reader.error(at: f["client_auth_type"], "client_auth_type \(tls.clientAuth.rawValue) needs client_ca_file")
        }
        if tls.clientAuth == .none, let n = f["client_ca_file"] {
            reader.error(at: n, "client_ca_file is set but client_auth_type is NoClientCert; set client_auth_type: RequireAndVerifyClientCert")
        }
        for (key, keyPath) in [("min_version", \Self.minVersion), ("max_version", \Self.maxVersion)] {
            guard let n = f[key], let text = reader.string(n, "tls_server_config.\(key)") else { continue }
            if let v = WebConfig.Version(rawValue: text) {
                tls[keyPath: keyPath] = v
            } else {
                reader.error(at: n, "unknown \(key) '\(text)'; expected one of \(WebConfig.Version.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if tls.minVersion > tls.maxVersion {
            reader.error(at: f["max_version"] ?? f["min_version"], "min_version \(tls.minVersion.rawValue) is above max_version \(tls.maxVersion.rawValue)")
        }
        if let n = f["cipher_suites"], let names = reader.stringList(n, "tls_server_config.cipher_suites") {
            for (name, item) in names {
                if let code = cipherSuiteCodes[name] {
                    tls.cipherSuites.append(code)
                } else {
                    reader.error(at: item, "unknown cipher suite '\(name)'; expected one of \(cipherSuiteCodes.keys.sorted().joined(separator: ", "))")
                }
            }
        }
        if let n = f["prefer_server_cipher_suites"] { _ = reader.bool(n, "tls_server_config.prefer_server_cipher_suites") }
        return tls
    }
}
