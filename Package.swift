// swift-tools-version:6.1
import PackageDescription

// Layout mirrors the architecture:
//   CProbe          C probe core: raw sockets + io_uring (liburing, libcap), plain C API.
//   ProbeAgentCore  pure logic: config, the probing loop (ProbeLoop), timer wheel, schedule,
//                   ledger, delivery state machine, record codec; takes `now`, does no I/O.
//   ProbeEngine     Swift I/O service around CProbe (one Engine per thread), getaddrinfo.
//   SpillLog        the on-disk write-ahead log (segments, read position, recovery, lock).
//   CSnappy         system library: libsnappy's C API (block compression).
//   RemoteWrite     Prometheus remote-write 1.0 encoding: protobuf WriteRequest + snappy.
//   ResultBlocks    the spill log's record format: blocks of results (ResultRecord), snappy.
//   Shipper         delivery: drives the delivery state machine on the log and the store.
//   AdminAPI        the admin socket's wire types (JSON), shared by probe-agent and agentctl.
//   probe-agent     the daemon: Loop/ (the loop's driver), Surfaces/ (HTTP, admin, status),
//                   System/ (signals, systemd, threads, memory).
//   agentctl        the operator CLI (admin API client, `probe`, `config check`, `doctor`).
//   spill-bench     the spill log's write and drain benchmark (scripts/bench-spill.sh).
let package = Package(
    name: "ProbeAgent",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "probe-agent", targets: ["probe-agent"]),
        .executable(name: "agentctl", targets: ["agentctl"]),
        .library(name: "ProbeEngine", targets: ["ProbeEngine"]),
        .library(name: "RemoteWrite", targets: ["RemoteWrite"]),
        // For the fuzz package (Fuzz/Package.swift), which builds them with sanitizers.
        .library(name: "ProbeAgentCore", targets: ["ProbeAgentCore"]),
        .library(name: "SpillLog", targets: ["SpillLog"]),
        .library(name: "ResultBlocks", targets: ["ResultBlocks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        // gzip for /metrics; TLS (HummingbirdTLS, in hummingbird) and bcrypt for the web config.
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
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
        .target(name: "ProbeEngine", dependencies: ["CProbe", "ProbeAgentCore"]),
        .target(name: "SpillLog"),
        .target(name: "AdminAPI", dependencies: ["ProbeAgentCore"]),
        .executableTarget(name: "spill-bench", dependencies: ["SpillLog", "ProbeAgentCore"]),
        .systemLibrary(name: "CSnappy", providers: [.apt(["libsnappy-dev"])]),
        .target(
            name: "RemoteWrite",
            dependencies: ["CSnappy", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Proto/remote_write.proto", "Proto/README.md"]
        ),
        // The write-ahead log's record format (blocks of results); apart from Shipper so the
        // fuzz package decodes it without building the HTTP client.
        .target(name: "ResultBlocks", dependencies: ["ProbeAgentCore", "RemoteWrite"]),
        // Delivery: memory queue, spill log, remote write with retries (an I/O service).
        .target(
            name: "Shipper",
            dependencies: [
                "ProbeAgentCore", "SpillLog", "RemoteWrite", "ResultBlocks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "probe-agent",
            dependencies: [
                "ProbeEngine", "ProbeAgentCore", "Shipper", "SpillLog", "AdminAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), // http_sd_configs
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "agentctl",
            dependencies: [
                "ProbeEngine",
                "ProbeAgentCore",
                "AdminAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Test doubles and helpers every test target may use: seeded RNG, child processes.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "CProbeTests", dependencies: ["CProbe", "TestSupport"]),
        .testTarget(name: "ProbeEngineTests", dependencies: ["ProbeEngine", "ProbeAgentCore", "CProbe", "TestSupport"]),
        .testTarget(name: "ProbeAgentCoreTests", dependencies: ["ProbeAgentCore", "TestSupport"]),
        .testTarget(name: "SpillLogTests", dependencies: ["SpillLog", "TestSupport"]),
        .testTarget(name: "ShipperTests", dependencies: ["Shipper", "ProbeAgentCore", "RemoteWrite", "ResultBlocks", "TestSupport"]),
        // Encoding unit tests plus round trips through real receivers (Prometheus,
        // VictoriaMetrics) started by Tests/support/{prometheus,victoria-metrics}.sh.
        .testTarget(
            name: "RemoteWriteTests",
            dependencies: [
                "RemoteWrite", "CSnappy",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Drives the built binaries (and the namespace test network) end to end.
        .testTarget(name: "EndToEndTests", dependencies: ["agentctl", "probe-agent", "spill-bench", "RemoteWrite", "AdminAPI", "SpillLog", "ResultBlocks", "ProbeAgentCore", "TestSupport"]),
    ]
)
