import SMTPPluginAPI

/// What XCLIENT tells the downstream about our client (Postfix's XCLIENT_README), so its logs
/// and policies see the real client rather than us.
struct ClientFacts: Sendable, Hashable {
    var name: String?
    var address: String
    var port: Int
    var helo: String?
    var isExtended: Bool

    init(name: String?, address: String, port: Int, helo: String?, isExtended: Bool) {
        self.name = name
        self.address = address
        self.port = port
        self.helo = helo
        self.isExtended = isExtended
    }

    init(_ connection: Connection) {
        self.init(
            name: connection.remoteHost, address: connection.remoteIP, port: connection.remotePort,
            helo: connection.helloHost, isExtended: connection.hello == .ehlo)
    }

    /// `NAME=… ADDR=… PORT=… HELO=… PROTO=…`, in that order, only those the server offered.
    /// Unknown values are `[UNAVAILABLE]`, as XCLIENT_README asks.
    func attributes(offered: Set<String>) -> [String] {
        let unavailable = "[UNAVAILABLE]"
        let address = self.address.contains(":") ? "IPV6:" + self.address : self.address
        let all: [(String, String)] = [
            ("NAME", name ?? unavailable), ("ADDR", address), ("PORT", String(port)),
            ("HELO", helo ?? unavailable), ("PROTO", isExtended ? "ESMTP" : "SMTP"),
        ]
        return all.filter { offered.contains($0.0) }.map { "\($0.0)=\(Self.xtext($0.1))" }
    }

    /// XCLIENT commands of at most `limit` characters each (qpsmtpd's 500), attributes whole.
    static func commands(_ attributes: [String], limit: Int = 500) -> [String] {
        var commands: [String] = []
        var current = "XCLIENT"
        for attribute in attributes {
            if current != "XCLIENT" && current.utf8.count + 1 + attribute.utf8.count > limit {
                commands.append(current)
                current = "XCLIENT"
            }
            current += " " + attribute
        }
        if current != "XCLIENT" { commands.append(current) }
        return commands
    }

    /// RFC 3461 §4 xtext: `+`, `=`, controls, space and non-ASCII as `+HH`.
    static func xtext(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "+") && byte != UInt8(ascii: "=") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF")
                out += "+" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
            }
        }
        return out
    }
}
