// swift-tools-version: 6.1
// Micro-benchmarks of the daemon's hot path (command parsing, reply encoding, DATA framing, hook calls),
// with allocation counts. A package of its own so that the daemon does not depend on the
// benchmark framework. Run: cd Benchmarks && swift package benchmark
import PackageDescription

let package = Package(
    name: "qpsmtpd-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "qpsmtpd", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "SMTPHotPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SMTPCore", package: "qpsmtpd"),
                .product(name: "SMTPPluginAPI", package: "qpsmtpd"),
                .product(name: "SMTPServer", package: "qpsmtpd"),
                .product(name: "SMTPServices", package: "qpsmtpd"),
                .product(name: "SMTPTesting", package: "qpsmtpd"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/SMTPHotPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
