// swift-tools-version: 6.1
import PackageDescription

// A site's own qpsmtpd: the stock daemon plus one plugin of its own.
let package = Package(
    name: "CustomPlugin",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` pins the identity to "qpsmtpd" whatever the checkout's directory is called.
        // A real site would use `.package(url: "https://.../qpsmtpd.git", from: "...")`.
        .package(name: "qpsmtpd", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "site-qpsmtpd",
            dependencies: [
                .product(name: "SMTPDaemon", package: "qpsmtpd"),
                .product(name: "SMTPPluginAPI", package: "qpsmtpd"),
            ]
        ),
    ]
)
