import Foundation
import ProbeAgentCore

/// What a `file_sd_configs` entry's globs match now, with each file's stamp (glob(3) and
/// stat(2), no reading). Only regular files count; a pattern matching nothing matches nothing.
enum FileGlob {
    static func listing(_ patterns: [String]) -> [String: CredentialFile.Stamp?] {
        var out: [String: CredentialFile.Stamp?] = [:]
        for pattern in patterns {
            var g = glob_t()
            defer { globfree(&g) }
            guard glob(pattern, 0, nil, &g) == 0 else { continue }
            for i in 0..<Int(g.gl_pathc) {
                guard let p = g.gl_pathv[i] else { continue }
                let path = String(cString: p)
                var st = stat()
                guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                out[path] = CredentialFile.stamp(path)
            }
        }
        return out
    }
}
