import AdminAPI
/// Left-aligned columns separated by two spaces; numbers right-aligned.
struct TextTable {
    private var rows: [[String]]
    private let numeric: Set<Int>

    init(header: [String], numericColumns: Set<Int> = []) {
        rows = [header]
        numeric = numericColumns
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    var rendered: String {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                if c == row.count - 1 && !numeric.contains(c) { return cell }
                return numeric.contains(c) ? pad + cell : cell + pad
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Human formats for the tables.
enum Human {
    static func seconds(_ s: Double?) -> String {
        guard let s else { return "-" }
        if s < 0.001 { return String(format: "%.0fµs", s * 1e6) }
        if s < 1 { return String(format: "%.1fms", s * 1e3) }
        if s < 120 { return String(format: "%.1fs", s) }
        if s < 7200 { return String(format: "%.0fm", s / 60) }
        return String(format: "%.1fh", s / 3600)
    }

    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }

    static func percent(_ r: Double?) -> String { r.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }

    /// " (mtu 1280) from 198.18.5.1": which router said it; empty without an ICMP error.
    static func icmp(_ d: MonitorsReply.ICMPDetail?) -> String {
        guard let d else { return "" }
        var s = d.mtu.map { " (mtu \($0))" } ?? ""
        s += " from " + (d.reporter ?? "this host")
        return s
    }
}
