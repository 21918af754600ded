import SMTPTesting
import Testing

/// Clients that send a byte now and then must not keep their slot: the timeout bounds a whole
/// command line, a message must keep up a minimum rate, and stress shortens the timeout.
@Suite("Slow clients") struct SlowClientTests {
    /// Sends `text` a few octets at a time, pausing between pieces; stops quietly once the server has hung up.
    private func dribble(_ client: ScriptedSMTPClient, _ text: String, piece: Int = 1, every pause: Duration) async {
        var rest = Substring(text)
        while !rest.isEmpty {
            do { try await client.send(String(rest.prefix(piece))) } catch { return }
            rest = rest.dropFirst(piece)
            try? await Task.sleep(for: pause)
        }
    }

    @Test func aCommandLineDribbledOverMoreThanTheTimeoutIsCutOff() async throws {
        try await withServer(["me": ["mx.test.example"], "timeout": ["1"]]) { server in
            let client = try await server.connect()
            try await client.expect(220)
            // Six octets over ~1.8 s: every read comes well inside the timeout, the line does not.
            await dribble(client, "NOOP\r\n", every: .milliseconds(300))
            let reply = try await client.reply()
            #expect(reply.code == 421 && reply.text.hasPrefix("4.4.2"), "\(reply)")
            #expect(try await client.isClosed())
        }
    }

    @Test func aPromptClientIsNotHurried() async throws {
        try await withServer(["me": ["mx.test.example"], "timeout": ["2"]]) { server in
            let client = try await server.connect()
            try await client.expect(220)
            for _ in 0..<4 {
                try await Task.sleep(for: .milliseconds(600))
                #expect(try await client.command("NOOP").code == 250)
            }
        }
    }

    @Test func aMessageBelowTheMinimumRateIsCutOff() async throws {
        let (files, _) = deliveringConfig(["timeout": ["1"], "min_data_rate": ["100"]])
        try await withServer(files) { server in
            let client = try await server.connect()
            try await client.startMessage()
            // ~25 octets a second, never idle: after the 1 s grace the deadline catches up.
            await dribble(client, "Subject: slow\r\n\r\n" + String(repeating: "x", count: 60) + "\r\n.\r\n", piece: 5, every: .milliseconds(200))
            let reply = try await client.reply()
            #expect(reply.code == 421 && reply.text.hasPrefix("4.4.2") && reply.text.contains("Message not received in time"), "\(reply)")
        }
    }

    @Test func aMessageAtTheRateIsAccepted() async throws {
        let (files, _) = deliveringConfig(["timeout": ["2"], "min_data_rate": ["100"]])
        try await withServer(files) { server in
            let client = try await server.connect()
            try await client.startMessage()
            // 400 octets a second for ~4 s: well above the rate, twice the grace.
            await dribble(client, "Subject: ok\r\n\r\n" + String(repeating: "y", count: 1600) + "\r\n.\r\n", piece: 80, every: .milliseconds(200))
            #expect(try await client.reply().code == 250)
        }
    }

    @Test func stressShortensTheTimeoutForNewSessions() async throws {
        try await withServer(["me": ["mx.test.example"], "timeout": ["30"], "stress_timeout": ["1"]], maxConnections: 4) { server in
            // Three of four slots: not yet stress (75% of max_connections, threshold 80%).
            var idle: [ScriptedSMTPClient] = []
            for _ in 0..<3 {
                let client = try await server.connect()
                try await client.expect(220)
                idle.append(client)
            }
            let fourth = try await server.connect()
            try await fourth.expect(220)
            let start = ContinuousClock.now
            let reply = try await fourth.reply()
            #expect(reply.code == 421 && reply.text.hasPrefix("4.4.2"), "\(reply)")
            // The stress timeout (1 s), not the configured 30 s.
            #expect(ContinuousClock.now - start < .seconds(5))
            // Sessions that started before the stress keep their timeout.
            #expect(try await idle[0].command("NOOP").code == 250)
        }
    }
}

@Suite struct CommandLimitTests {
    @Test func theCommandAfterMaxCommandsIsRefusedAndTheConnectionClosed() async throws {
        try await withServer(["me": ["mx.test.example"], "max_commands": ["3"]]) { server in
            let client = try await server.connect()
            try await client.expect(220)
            for _ in 0..<3 { #expect(try await client.command("NOOP").code == 250) }
            let refused = try await client.command("NOOP")
            #expect(refused.code == 421 && refused.text.hasPrefix("4.7.0"), "\(refused)")
            #expect(try await client.isClosed())
        }
    }
}
