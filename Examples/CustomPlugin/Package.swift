// swift-tools-version: 6.1
import PackageDescription

// A site's own qpsmtpd: the stock daemon plus plugins of its own, with their tests.
let package = Package(
    name: "CustomPlugin",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` pins the identity to "qpsmtpd" whatever the checkout's directory is called.
        // A real site would use `.package(url: "https://.../qpsmtpd.git", from: "...")`.
        .package(name: "qpsmtpd", path: "../.."),
    ],
    targets: [
        .target(
            name: "SitePlugins",
            dependencies: [.product(name: "SMTPPluginAPI", package: "qpsmtpd")]
        ),
        .executableTarget(
            name: "site-qpsmtpd",
            dependencies: [
                "SitePlugins",
                .product(name: "SMTPDaemon", package: "qpsmtpd"),
                .product(name: "SMTPPluginAPI", package: "qpsmtpd"),
            ]
        ),
        .testTarget(
            name: "SitePluginsTests",
            dependencies: ["SitePlugins", .product(name: "SMTPTesting", package: "qpsmtpd")]
        ),
    ]
)
