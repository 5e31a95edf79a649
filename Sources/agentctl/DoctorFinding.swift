import Foundation

/// One row of `agentctl doctor`: what was checked, how it went, and how to fix it.
struct DoctorFinding: Encodable, Equatable {
    enum Status: String, Encodable {
        case ok = "OK"
        case warn = "WARN"
        case fail = "FAIL"
    }

    var check: String
    var status: Status
    /// What was found; may span lines (one config error per line).
    var detail: String
    /// A command or setting that fixes a WARN or FAIL; nil for OK.
    var hint: String?

    static func ok(_ check: String, _ detail: String) -> Self { .init(check: check, status: .ok, detail: detail) }
    static func warn(_ check: String, _ detail: String, hint: String) -> Self {
        .init(check: check, status: .warn, detail: detail, hint: hint)
    }
    static func fail(_ check: String, _ detail: String, hint: String) -> Self {
        .init(check: check, status: .fail, detail: detail, hint: hint)
    }

    private enum CodingKeys: String, CodingKey { case check, status, detail, hint }

    /// Always writes `hint`, as null when there is none, so every object has the same keys.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(check, forKey: .check)
        try c.encode(status, forKey: .status)
        try c.encode(detail, forKey: .detail)
        try c.encode(hint, forKey: .hint)
    }

    /// Aligned rows, `STATUS  check  detail`, continuation lines and `fix:` hints indented
    /// under the detail column.
    static func table(_ findings: [DoctorFinding]) -> String {
        let width = findings.map(\.check.count).max() ?? 0
        let indent = String(repeating: " ", count: 6 + width + 2)
        var out = ""
        for f in findings {
            let status = f.status.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)
            let check = f.check.padding(toLength: width + 2, withPad: " ", startingAt: 0)
            let lines = f.detail.split(separator: "\n", omittingEmptySubsequences: false)
            out += status + check + (lines.first.map(String.init) ?? "") + "\n"
            for line in lines.dropFirst() { out += indent + line + "\n" }
            if let hint = f.hint, f.status != .ok { out += indent + "fix: " + hint + "\n" }
        }
        return out
    }
}
