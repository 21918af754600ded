import SMTPCore
import SMTPPluginAPI

/// The headers we add to every accepted message: Received on top, then Authentication-Results.
extension SMTPSession {
    func receivedValue(_ txn: Transaction) async -> String {
        let context = ReceivedHeader.context(for: connection)
        if case .answered(.ok(let value?), _) = await hooks.run(.receivedLine, call(.receivedLine(context))) {
            return value
        }
        return ReceivedHeader.value(for: connection, hostName: settings.hostName, version: SessionSettings.version)
    }

    /// Received on top, and an Authentication-Results header when there is something to report.
    /// Any Authentication-Results the client sent is renamed first (RFC 8601 §5): it is not ours.
    func addTraceHeaders(_ txn: Transaction, receivedValue: String) {
        var results: [String] = []
        if let user = connection.authUser {
            results.append("auth=pass (\(connection.authMechanism ?? "")) smtp.auth=\(user)")
        }
        results += connection[note: .authenticationResults] ?? []
        txn.modifyHeader { header in
            header.rename("Authentication-Results", to: "Original-Authentication-Results")
            header.prepend("Received", receivedValue)
            if !results.isEmpty {
                header.prepend("Authentication-Results", "\(settings.hostName); " + results.joined(separator: ";\n\t"))
            }
        }
    }
}
