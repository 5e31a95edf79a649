// fuzz-web: what a client and the web config file give the HTTP listener → the pure parts
// that decide on it. Input layout:
//
//   chunk Accept-Encoding | chunk Authorization | web config YAML: the rest
//
// where chunk = u16 length + bytes (as UTF-8, lossily). Contract, besides no trap:
// ContentCoding.negotiate answers gzip only for a header that names gzip or `*`; credentials
// parsed from an Authorization header survive being encoded again; a web config either
// loads — every user's hash bcrypt-shaped, min_version ≤ max_version, only known cipher
// suites — or throws errors that each carry a position and a message.

import Foundation
import FuzzSupport
import ProbeAgentCore

func chunk(_ input: inout FuzzInput) -> String {
    let n = Int(input.u16())
    var bytes: [UInt8] = []
    while bytes.count < n && !input.isAtEnd { bytes.append(input.u8()) }
    return String(decoding: bytes, as: UTF8.self)
}

func seed(_ acceptEncoding: String, _ authorization: String, _ yaml: String) -> [UInt8] {
    func framed(_ s: String) -> [UInt8] { let b = Array(s.utf8); return [UInt8(b.count & 0xFF), UInt8(b.count >> 8)] + b }
    return framed(acceptEncoding) + framed(authorization) + Array(yaml.utf8)
}

let hash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"
let seeds: [(name: String, bytes: [UInt8])] = [
    ("prometheus", seed("gzip", "Basic cHJvbWV0aGV1czpzM2NyZXQ=", "basic_auth_users:\n  prometheus: \"\(hash)\"\n")),
    ("q-values", seed("identity;q=1, gzip;q=0.5, *;q=0", "basic YWxpY2U6cGE6c3M=", "")),
    ("tls", seed("deflate, gzip, br, zstd", "Bearer x", """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: ca.crt
          min_version: TLS12
          max_version: TLS13
          cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
        http_server_config:
          http2: false
          headers:
            X-Frame-Options: deny
            X-Content-Type-Options: nosniff
        """)),
    ("bad", seed("*", "Basic !!!", "tls_server_config:\n  key_fiel: k\nbasic_auth_users:\n  a: plaintext\nrate_limit: {}\n")),
]

Fuzzer.main(seeds: { seeds }) { bytes in
    var input = FuzzInput(bytes)
    let acceptEncoding = chunk(&input), authorization = chunk(&input)
    let yaml = String(decoding: bytes[min(input.at, bytes.count)...], as: UTF8.self)

    if ContentCoding.negotiate(acceptEncoding) == .gzip {
        Fuzzer.check(acceptEncoding.lowercased().contains("gzip") || acceptEncoding.contains("*"),
                     "gzip for '\(acceptEncoding)', which does not name it")
    }
    if let c = BasicCredentials(authorization: authorization) {
        Fuzzer.check(!c.user.contains(":"), "a user with ':' from '\(authorization)'")
        let again = "Basic " + Data("\(c.user):\(c.password)".utf8).base64EncodedString()
        Fuzzer.check(BasicCredentials(authorization: again) == c, "credentials do not survive encoding: \(c)")
    }
    do throws(ConfigErrors) {
        let config = try WebConfig.load(yaml: yaml, file: "web.yml", directory: "/etc/pa")
        Fuzzer.check(config.basicAuthUsers.values.allSatisfy(WebConfig.isBcryptHash), "a user without a bcrypt hash")
        if let tls = config.tls {
            Fuzzer.check(tls.minVersion <= tls.maxVersion, "min_version above max_version")
            Fuzzer.check(!tls.certFile.isEmpty && !tls.keyFile.isEmpty, "TLS without files")
        }
    } catch {
        Fuzzer.check(!error.errors.isEmpty, "ConfigErrors without an error")
        for e in error.errors {
            Fuzzer.check(e.line >= 0 && e.column >= 0 && !e.message.isEmpty && e.file == "web.yml", "error without position or message: \(e)")
        }
    }
}
