/// The `depends_on` graph between monitors: edges go from a child to the parents it depends on.
///
/// Cycle detection is a depth-first search with the usual three colours (unvisited, on the
/// stack, done): an edge to a node that is still on the stack closes a cycle, which is read off
/// the stack. O(V + E). Each cycle is reported once, rotated to start at its member that comes
/// first in file order, so messages are stable (`a -> b -> c -> a`).
public struct DependencyGraph: Sendable {
    private let order: [String]
    private let edges: [String: [String]]

    /// Builds the graph from (monitor id, parent ids) pairs in file order.
    ///
    /// - Parameter nodes: Each monitor's id and the ids it depends on. Ids that are not
    ///   themselves nodes are ignored.
    public init(_ nodes: [(id: String, dependsOn: [String])]) {
        order = nodes.map(\.id)
        var edges: [String: [String]] = [:]
        for (id, parents) in nodes { edges[id, default: []] += parents }
        self.edges = edges
    }

    /// The parents a monitor depends on.
    public func parents(of id: String) -> [String] { edges[id] ?? [] }

    /// Every cycle, as a path that ends where it starts, e.g. `["a", "b", "c", "a"]`.
    public func cycles() -> [[String]] {
        enum Colour { case onStack, done }
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        var colour: [String: Colour] = [:]
        var stack: [String] = []
        var found: [[String]] = []
        var reported: Set<[String]> = []

        func visit(_ node: String) {
            colour[node] = .onStack
            stack.append(node)
            for parent in edges[node] ?? [] where position[parent] != nil {
                switch colour[parent] {
                case nil:
                    visit(parent)
                case .onStack:
                    var cycle = Array(stack[stack.lastIndex(of: parent)!...])
                    let first = cycle.indices.min { position[cycle[$0]]! < position[cycle[$1]]! }!
                    cycle = Array(cycle[first...] + cycle[..<first])
                    if reported.insert(cycle).inserted { found.append(cycle + [cycle[0]]) }
                case .done:
                    break
                }
            }
            stack.removeLast()
            colour[node] = .done
        }
        for node in order where colour[node] == nil { visit(node) }
        return found
    }
}
