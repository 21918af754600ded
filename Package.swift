// swift-tools-version: 6.1
import PackageDescription

// Versions pinned to the copies this build machine carries (see the developers' guide).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "qpsmtpd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "qpsmtpd", targets: ["qpsmtpd"]),
        .library(name: "SMTPCore", targets: ["SMTPCore"]),
        .library(name: "SMTPPluginAPI", targets: ["SMTPPluginAPI"]),
        .library(name: "SMTPServer", targets: ["SMTPServer"]),
        .library(name: "SMTPPlugins", targets: ["SMTPPlugins"]),
        .library(name: "SMTPServices", targets: ["SMTPServices"]),
        .library(name: "SMTPDaemon", targets: ["SMTPDaemon"]),
        .library(name: "SMTPTesting", targets: ["SMTPTesting"]),
        .library(name: "DNSWire", targets: ["DNSWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // The persistent state store's SQLite (vendored in the package: no system library needed).
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
    ],
    targets: [
        .target(
            name: "SMTPCore",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SMTPPluginAPI",
            dependencies: ["SMTPCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SMTPServer",
            dependencies: [
                "SMTPCore", "SMTPPluginAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // POSIX calls Swift's Glibc module does not show (pipe2).
        .target(name: "CPosix"),
        .target(
            name: "SMTPServices",
            dependencies: [
                "SMTPCore", "SMTPPluginAPI", "CPosix", "DNSWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // crypt(3) from libxcrypt, for the hashed passwords the auth plugins check.
        .target(
            name: "CCrypt",
            linkerSettings: [.linkedLibrary("crypt")]
        ),
        .target(
            name: "SMTPPlugins",
            dependencies: [
                "SMTPCore", "SMTPPluginAPI", "CCrypt",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SMTPDaemon",
            dependencies: [
                "SMTPCore", "SMTPPluginAPI", "SMTPServer", "SMTPPlugins", "SMTPServices",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "qpsmtpd",
            dependencies: ["SMTPDaemon"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SMTPTesting",
            dependencies: [
                "SMTPCore", "SMTPPluginAPI", "SMTPServer", "SMTPDaemon", "SMTPServices",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The DNS message codec: no dependencies at all, so the fuzz script can compile it with swiftc alone.
        .target(name: "DNSWire", swiftSettings: swiftSettings),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SMTPCoreTests",
            dependencies: [
                "SMTPCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SMTPServerTests",
            dependencies: [
                "SMTPCore", "SMTPPluginAPI", "SMTPServer", "SMTPTesting", "SMTPPlugins", "SMTPDaemon",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SMTPPluginsTests",
            dependencies: [
                "SMTPCore", "SMTPPluginAPI", "SMTPPlugins", "SMTPTesting", "SMTPDaemon", "SMTPServices",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SMTPServicesTests",
            dependencies: [
                "SMTPPluginAPI", "SMTPServices", "SMTPTesting", "DNSWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
