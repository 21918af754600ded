import SMTPTesting
import Testing

@Suite("Hook results and plugin failures") struct PluginFailureTests {
    @Test func throwingPluginGets451AndSessionGoesOn() async throws {
        let (files, _) = deliveringConfig(plugins: ["test/answer mail throw"])
        try await withServer(files) { server in
            let client = try await server.connect()
            try await client.expect(220)
            try await client.command("EHLO c")
            let failed = try await client.command("MAIL FROM:<s@x.example>")
            #expect(failed.code == 451 && failed.text.hasPrefix("4.3.0"))
            #expect(try await client.command("NOOP").code == 250)
        }
    }

    @Test func hangingPluginTimesOutWithoutBlockingOthers() async throws {
        let (files, _) = deliveringConfig(["plugin_timeout": ["1"]], plugins: ["test/answer helo hang"])
        try await withServer(files) { server in
            let slow = try await server.connect()
            try await slow.expect(220)
            try await slow.send("HELO c\r\n")
            // Another session is served while the first waits on its plugin.
            let other = try await server.connect()
            try await other.expect(220)
            #expect(try await other.command("NOOP").code == 250)
            let failed = try await slow.expect(451)
            #expect(failed.text.hasPrefix("4.3.0"))
        }
    }

    @Test func denyDisconnectCloses() async throws {
        let (files, _) = deliveringConfig(plugins: ["test/answer mail deny_disconnect go away"])
        try await withServer(files) { server in
            let client = try await server.connect()
            try await client.expect(220)
            try await client.command("EHLO c")
            let reply = try await client.command("MAIL FROM:<s@x.example>")
            #expect(reply.code == 550 && reply.text == "5.7.1 go away")
            #expect(try await client.isClosed())
        }
    }

    @Test func connectDenial() async throws {
        try await withServer(["plugins": ["test/answer connect denysoft busy"]]) { server in
            let client = try await server.connect()
            let reply = try await client.expect(421)
            #expect(reply.text == "4.7.1 busy")
            #expect(try await client.isClosed())
        }
    }

    @Test(arguments: [("data_post", 554), ("queue_pre", 554), ("queue", 554)])
    func contentRefusalsAlwaysAnswer(hook: String, code: Int) async throws {
        let (files, maildir) = deliveringConfig(plugins: ["test/answer \(hook) deny"])
        try await withServer(files) { server in
            let client = try await server.connect()
            try await client.startMessage()
            try await client.send("hi\r\n.\r\n")
            #expect(try await client.reply().code == code)
        }
        #expect(TemporaryDirectory.files(in: maildir + "/new").isEmpty)
    }

    @Test func unrecognizedCommandCounter() async throws {
        try await withServer(["plugins": ["count_unrecognized_commands 2"]]) { server in
            let client = try await server.connect()
            try await client.expect(220)
            #expect(try await client.command("FOO").code == 500)
            let last = try await client.command("BAR")
            #expect(last.code == 521)
            #expect(try await client.isClosed())
        }
    }
}
