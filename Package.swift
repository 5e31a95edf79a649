// swift-tools-version:6.1
import PackageDescription

// Layout mirrors the architecture:
//   CProbe          C probe core: raw sockets + io_uring (liburing, libcap), plain C API.
//   ProbeAgentCore  pure logic (config model, timer wheel); imports no socket and no clock.
//   ProbeEngine     Swift I/O service around CProbe: engine thread, address resolution.
//   probe-agent     the daemon.
//   agentctl        the operator CLI (`agentctl probe` today).
let package = Package(
    name: "ProbeAgent",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "probe-agent", targets: ["probe-agent"]),
        .executable(name: "agentctl", targets: ["agentctl"]),
        .library(name: "ProbeEngine", targets: ["ProbeEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(
            name: "CProbe",
            path: "CProbe",
            exclude: ["fuzz", "README.md"],
            cSettings: [
                .define("_GNU_SOURCE"),
                .unsafeFlags(["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]),
            ],
            linkerSettings: [.linkedLibrary("uring"), .linkedLibrary("cap")]
        ),
        .target(
            name: "ProbeAgentCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .target(name: "ProbeEngine", dependencies: ["CProbe"]),
        .target(name: "SpillLog"),
        .executableTarget(name: "spill-bench", dependencies: ["SpillLog"]),
        .executableTarget(
            name: "probe-agent",
            dependencies: [
                "ProbeEngine", "ProbeAgentCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "agentctl",
            dependencies: [
                "ProbeEngine",
                "ProbeAgentCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "CProbeTests", dependencies: ["CProbe"]),
        .testTarget(name: "ProbeEngineTests", dependencies: ["ProbeEngine", "CProbe"]),
        .testTarget(name: "ProbeAgentCoreTests", dependencies: ["ProbeAgentCore"]),
        .testTarget(name: "SpillLogTests", dependencies: ["SpillLog"]),
        // Drives the built binaries (and the namespace test network) end to end.
        .testTarget(name: "EndToEndTests", dependencies: ["agentctl", "probe-agent"]),
    ]
)
