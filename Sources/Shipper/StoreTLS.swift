import Foundation
import Logging
import NIOSSL
import ProbeAgentCore

/// The TLS configuration for requests to the store, kept current with `remote_write.tls` files.
///
/// Every file is loaded at start, as PEM, so a bad path or file stops the agent with its name
/// (NIOSSL's `.file` sources guess the format from the extension and fail late). After that the
/// files are looked at (stat) at most once a second before a send, and at once after a TLS
/// failure; when one changed, all are loaded again and the new configuration is used for the
/// next request (AsyncHTTPClient keys its connections by it, so new connections use the new
/// files). A set that fails to load keeps the last good configuration; the problem is logged
/// once per change of the files. Key material is never logged.
final class StoreTLS: @unchecked Sendable {
    private let files: RemoteWriteConfig.TLSFiles
    private let log: Logger
    private let lock = NSLock()
    private var current: TLSConfiguration
    private var stamps: [CredentialFile.Stamp?]
    private var checkedAtNanos: UInt64 = 0
    private var recheckNow = false
    private var reportedProblem: [CredentialFile.Stamp?]?

    struct FileError: Error, CustomStringConvertible {
        let description: String
    }

    init(files: RemoteWriteConfig.TLSFiles, log: Logger) throws {
        self.files = files
        self.log = log
        stamps = Self.paths(files).map { CredentialFile.stamp($0) }
        current = try Self.load(files)
    }

    /// The configuration for a request sent now.
    func configuration(nowNanos: UInt64) -> TLSConfiguration {
        lock.lock()
        defer { lock.unlock() }
        guard !Self.paths(files).isEmpty, recheckNow || nowNanos &- checkedAtNanos >= StoreCredentials.checkInterval else {
            return current
        }
        let forced = recheckNow
        recheckNow = false
        checkedAtNanos = nowNanos
        let now = Self.paths(files).map { CredentialFile.stamp($0) }
        guard forced || now != stamps else { return current }
        do {
            let fresh = try Self.load(files)
            if now != stamps { log.notice("remote_write.tls files changed: using the new ones for new connections") }
            current = fresh
            stamps = now
            reportedProblem = nil
        } catch {
            if reportedProblem != now {
                reportedProblem = now
                log.error("\(error); keeping the last good TLS configuration")
            }
        }
        return current
    }

    /// A TLS handshake failed: look at the files before the next request.
    func handshakeFailed() {
        lock.lock()
        recheckNow = true
        lock.unlock()
    }

    private static func paths(_ f: RemoteWriteConfig.TLSFiles) -> [String] {
        [f.caFile, f.certFile, f.keyFile].compactMap { $0 }
    }

    private static func load(_ files: RemoteWriteConfig.TLSFiles) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = files.caFile {
            tls.trustRoots = .certificates(try load("tls.ca_file", ca) { try NIOSSLCertificate.fromPEMFile($0) })
        }
        if let cert = files.certFile, let key = files.keyFile {
            tls.certificateChain = try load("tls.cert_file", cert) { try NIOSSLCertificate.fromPEMFile($0) }
                .map { .certificate($0) }
            tls.privateKey = .privateKey(try load("tls.key_file", key) { try NIOSSLPrivateKey(file: $0, format: .pem) })
        }
        return tls
    }

    private static func load<T>(_ key: String, _ path: String, _ body: (String) throws -> T) throws -> T {
        do {
            let value = try body(path)
            if let list = value as? [NIOSSLCertificate], list.isEmpty {
                throw FileError(description: "remote_write.\(key) \(path): no PEM certificate in it")
            }
            return value
        } catch let e as FileError {
            throw e
        } catch {
            throw FileError(description: "remote_write.\(key) \(path): cannot load as PEM (\(Self.short(error)))")
        }
    }

    /// A load error without key material: BoringSSL's reason code, or the error's type.
    private static func short(_ error: Error) -> String {
        let text = String(describing: error)
        if let r = text.range(of: "OPENSSL_internal:") {
            return String(text[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                .lowercased().replacingOccurrences(of: "_", with: " ")
        }
        if text.contains("No such file") || text.contains("errno: 2") { return "no such file" }
        return String(text.prefix(120))
    }
}
