import NIOCore
import NIOSSL
import ProbeAgentCore
import Synchronization

/// A problem with the web config or a file it names, worded for a person: the file, the key,
/// the problem. Start-up prints it and exits 1; a re-read logs it and keeps what runs.
struct WebConfigProblem: Error, CustomStringConvertible {
    let description: String
}

/// The certificate chain and key the listener serves, read from `cert_file` and `key_file`.
struct ServingCertificate: Sendable {
    let chain: [NIOSSLCertificate]
    let key: NIOSSLPrivateKey

    /// Reads and parses both files; `webConfig` names the web config in errors.
    static func load(_ tls: WebConfig.TLS, webConfig: String) throws(WebConfigProblem) -> ServingCertificate {
        let chain = try WebTLS.certificates(tls.certFile, key: "cert_file", webConfig: webConfig)
        let pem = try WebTLS.read(tls.keyFile, key: "key_file", webConfig: webConfig)
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: pem, format: .pem)
        } catch {
            throw WebConfigProblem(description: "\(webConfig): tls_server_config.key_file \(tls.keyFile): not a PEM private key (\(error))")
        }
        // BoringSSL checks that the key belongs to the certificate when a context takes both:
        // a pair caught mid-rotation (new key, old certificate) is refused here, not served.
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                           privateKey: .privateKey(key)))
        } catch {
            throw WebConfigProblem(description: "\(webConfig): tls_server_config: key_file \(tls.keyFile) does not belong to cert_file \(tls.certFile) (\(error))")
        }
        return ServingCertificate(chain: chain, key: key)
    }

    /// The one being served, read at each handshake and replaced when the files change.
    final class Slot: Sendable {
        private let value: Mutex<ServingCertificate>
        init(_ first: ServingCertificate) { value = Mutex(first) }
        var current: ServingCertificate {
            get { value.withLock { $0 } }
            set { value.withLock { $0 = newValue } }
        }
    }

    /// For the TLS handshake: serve this certificate and key.
    var override: NIOSSLContextConfigurationOverride {
        var o = NIOSSLContextConfigurationOverride()
        o.certificateChain = chain.map { .certificate($0) }
        o.privateKey = .privateKey(key)
        return o
    }
}

/// The listener's TLS configuration from `tls_server_config`.
enum WebTLS {
    /// A server configuration serving `serving`, with the web config's policy; `current` is
    /// asked at each handshake for the certificate to serve, so a renewed one is served
    /// without a restart. Built once into a context here, so a cipher list BoringSSL refuses
    /// is an error at start.
    static func configuration(_ tls: WebConfig.TLS, serving: ServingCertificate, webConfig: String,
                              current: @escaping @Sendable () -> ServingCertificate) throws(WebConfigProblem) -> TLSConfiguration {
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: serving.chain.map { .certificate($0) },
                                                         privateKey: .privateKey(serving.key))
        c.minimumTLSVersion = version(tls.minVersion)
        c.maximumTLSVersion = version(tls.maxVersion)
        if !tls.cipherSuites.isEmpty { c.cipherSuiteValues = tls.cipherSuites.map { NIOTLSCipher(rawValue: $0) } }
        switch tls.clientAuth {
        case .none: c.certificateVerification = .none
        case .verifyIfGiven: c.certificateVerification = .optionalVerification
        case .requireAndVerify: c.certificateVerification = .noHostnameVerification
        }
        if let ca = tls.clientCAFile {
            c.trustRoots = .certificates(try certificates(ca, key: "client_ca_file", webConfig: webConfig))
            c.sendCANameList = true
        }
        c.sslContextCallback = { _, promise in promise.succeed(current().override) }
        do {
            _ = try NIOSSLContext(configuration: c)
        } catch {
            throw WebConfigProblem(description: "\(webConfig): tls_server_config: cannot set up TLS (versions, cipher_suites, client_ca_file): \(error)")
        }
        return c
    }

    private static func version(_ v: WebConfig.Version) -> TLSVersion {
        switch v {
        case .tls10: .tlsv1
        case .tls11: .tlsv11
        case .tls12: .tlsv12
        case .tls13: .tlsv13
        }
    }

    /// The PEM certificates in `path`, at least one.
    static func certificates(_ path: String, key: String, webConfig: String) throws(WebConfigProblem) -> [NIOSSLCertificate] {
        let pem = try read(path, key: key, webConfig: webConfig)
        let chain = (try? NIOSSLCertificate.fromPEMBytes(pem)) ?? []
        guard !chain.isEmpty else {
            throw WebConfigProblem(description: "\(webConfig): tls_server_config.\(key) \(path): holds no PEM certificate")
        }
        return chain
    }

    /// The text of a file the web config names (at most 64 KiB: a certificate chain or a key).
    static func read(_ path: String, key: String, webConfig: String) throws(WebConfigProblem) -> [UInt8] {
        switch CredentialFile.read(path) {
        case .success(let text): return Array(text.utf8)
        case .failure(let e): throw WebConfigProblem(description: "\(webConfig): tls_server_config.\(key) \(path): \(e.reason)")
        }
    }
}
