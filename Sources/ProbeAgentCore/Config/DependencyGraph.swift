/// The `depends_on` graph between monitors: edges go from a child to the parents it depends on.
///
/// Cycle detection is a depth-first search with the usual three colours (unvisited, on the
/// stack, done): an edge to a node that is still on the stack closes a cycle, which is read off
/// the stack. The search keeps its own stack (no recursion: a chain of 100k monitors is 100k
/// levels deep) and finds a node's place on it by a table, so O(V + E) plus the cycles it
/// copies out, of which it copies at most `limit`. Each cycle is reported once, rotated to start
/// at its member that comes first in file order, so messages are stable (`a -> b -> c -> a`).
public struct DependencyGraph: Sendable {
    /// Cycles reported at most: a hostile file holds millions (one monitor at the end of a
    /// 100k chain depending on every monitor above it closes 100k cycles, 5·10⁹ ids in all),
    /// and one is enough to refuse the file.
    public static let maxReportedCycles = 100

    private let order: [String]
    private let edges: [String: [String]]

    /// Builds the graph from (monitor id, parent ids) pairs in file order.
    ///
    /// - Parameter nodes: Each monitor's id and the ids it depends on. Ids that are not
    ///   themselves nodes are ignored; an id listed twice gets the parents of both.
    public init(_ nodes: [(id: String, dependsOn: [String])]) {
        order = nodes.map(\.id)
        var edges: [String: [String]] = [:]
        for (id, parents) in nodes { edges[id, default: []] += parents }
        self.edges = edges
    }

    /// The parents a monitor depends on.
    public func parents(of id: String) -> [String] { edges[id] ?? [] }

    /// Cycles, as paths that end where they start, e.g. `["a", "b", "c", "a"]`; at most `limit`.
    public func cycles(limit: Int = DependencyGraph.maxReportedCycles) -> [[String]] {
        var position: [String: Int] = [:]
        for (index, id) in order.enumerated() where position[id] == nil { position[id] = index }
        var done: Set<String> = []
        var path: [String] = []              // the search's stack, root first
        var place: [String: Int] = [:]       // index in `path` of each node on it
        var nextEdge: [Int] = []             // per entry of `path`: the next parent to follow
        var found: [[String]] = []
        var reported: Set<[String]> = []

        func push(_ node: String) {
            place[node] = path.count
            path.append(node)
            nextEdge.append(0)
        }
        for root in order where !done.contains(root) && place[root] == nil {
            push(root)
            while let node = path.last {
                let parents = edges[node] ?? []
                let next = nextEdge[nextEdge.count - 1]
                guard next < parents.count else {
                    path.removeLast()
                    nextEdge.removeLast()
                    place[node] = nil
                    done.insert(node)
                    continue
                }
                nextEdge[nextEdge.count - 1] = next + 1
                let parent = parents[next]
                if position[parent] == nil || done.contains(parent) { continue }
                guard let start = place[parent] else { push(parent); continue }
                var cycle = Array(path[start...])
                let first = cycle.indices.min { (position[cycle[$0]] ?? 0) < (position[cycle[$1]] ?? 0) } ?? 0
                cycle = Array(cycle[first...] + cycle[..<first])
                if reported.insert(cycle).inserted {
                    found.append(cycle + [cycle[0]])
                    if found.count >= limit { return found }
                }
            }
        }
        return found
    }

    /// `a -> b -> a`; a cycle of more than 12 ids shows its first 8 and last 3 with the count
    /// between, so one error stays one readable line.
    public static func describe(_ cycle: [String]) -> String {
        guard cycle.count > 12 else { return cycle.joined(separator: " -> ") }
        return (cycle.prefix(8) + ["… \(cycle.count - 11) more …"] + cycle.suffix(3)).joined(separator: " -> ")
    }
}
