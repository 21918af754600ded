import SMTPPluginAPI
import SMTPTesting
import Testing

@testable import SMTPPlugins

/// The sender and recipient policy plugins in a whole session, so each refusal is checked as the
/// client reads it: code, enhanced code and text. Sessions connect from 127.0.0.1.
@Suite struct PolicySessionTests {
    static func config(_ plugins: [String], _ files: [String: [String]] = [:]) -> [String: [String]] {
        var config = files
        config["plugins"] = plugins + ["rcpt_ok"]
        config["rcpthosts"] = ["test.example"]
        return config
    }

    /// The policy lines of Debian's default `plugins` file load unchanged and work together.
    @Test func debianDefaultPolicyLines() async throws {
        let config = Self.config(
            ["check_spamhelo", "check_badmailfrom", "check_badrcptto"],
            ["badhelo": ["aol.com"], "badmailfrom": ["@spam.example"], "badrcptto": ["nobody@test.example"]])
        try await SMTPTestClient.with(.session, config: config) { client in
            try await client.greeting()
            try await client.helo("client.example")
            try await client.mail(from: "a@spam.example").expect(550, "5.7.1")
            try await client.mail(from: "a@example.com").expect(250)
            try await client.rcpt(to: "nobody@test.example").expect(550, "5.1.1")
            try await client.rcpt(to: "somebody@test.example").expect(250)
            try await client.data("Subject: x\n\nhi\n").expect(451)
        }
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func badmailfrom(setup: SMTPTestSetup) async throws {
        let config = Self.config(["badmailfrom"], ["badmailfrom": ["spammer@example.com", "@spam.example Go away"]])
        try await SMTPTestClient.with(setup, config: config) { client in
            try await client.greeting()
            try await client.ehlo()
            let reply = try await client.mail(from: "spammer@example.com").expect(550, "5.7.1")
            #expect(reply.text == "5.7.1 Your envelope sender is in my badmailfrom list")
            #expect(try await client.mail(from: "x@spam.example").expect(550).text == "5.7.1 Go away")
            try await client.mail(from: "friend@example.com").expect(250)
            try await client.rcpt(to: "u@test.example").expect(250)
        }
    }

    @Test func badmailfromto() async throws {
        let config = Self.config(["badmailfromto"], ["badmailfromto": ["stalker@example.com victim@test.example"]])
        try await SMTPTestClient.with(.session, config: config) { client in
            try await client.greeting()
            try await client.ehlo()
            try await client.mail(from: "stalker@example.com").expect(250)
            let reply = try await client.rcpt(to: "victim@test.example").expect(550, "5.1.1")
            #expect(reply.text == "5.1.1 mail to victim@test.example not accepted here")
            try await client.rcpt(to: "other@test.example").expect(250)
        }
    }

    @Test func badrcptto() async throws {
        let config = Self.config(["badrcptto"], ["badrcptto": ["nobody@test.example", "^sales@  no sales calls"]])
        try await SMTPTestClient.with(.session, config: config) { client in
            try await client.greeting()
            try await client.ehlo()
            try await client.mail(from: "a@example.com").expect(250)
            #expect(try await client.rcpt(to: "Nobody@test.example").expect(550, "5.1.1").text == "5.1.1 mail to nobody@test.example not accepted here")
            #expect(try await client.rcpt(to: "sales@test.example").expect(550, "5.7.1").text == "5.7.1 no sales calls")
            try await client.rcpt(to: "somebody@test.example").expect(250)
        }
    }

    @Test func rcptMapAndRcptRegexp() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("map", "me@test.example OK\nbusy@test.example DENYSOFT Try again later\n")
        let config = Self.config(
            ["rcpt_map domain test.example file \(directory.path)/map", "rcpt_regexp"],
            ["rcpt_regexp": ["/^info@/ DENY User not found."]])
        try await SMTPTestClient.with(.session, config: config) { client in
            try await client.greeting()
            try await client.ehlo()
            try await client.mail(from: "a@example.com").expect(250)
            try await client.rcpt(to: "me@test.example").expect(250)
            #expect(try await client.rcpt(to: "stranger@test.example").expect(550, "5.1.1").text == "5.1.1 No such user.")
            #expect(try await client.rcpt(to: "busy@test.example").expect(450, "4.7.1").text == "4.7.1 Try again later")
            // Another domain: rcpt_map declines, rcpt_regexp decides.
            #expect(try await client.rcpt(to: "info@elsewhere.example").expect(550, "5.7.1").text == "5.7.1 User not found.")
        }
    }

    /// A whitelisted host is immune to badmailfrom and, through rcpt_ok, may send anywhere (as in
    /// qpsmtpd); a whitelisted recipient is accepted where rcpt_ok would refuse to relay.
    @Test func whitelist() async throws {
        let hosts = Self.config(["whitelist", "badmailfrom"], ["whitelisthosts": ["127.0.0.0/8"], "badmailfrom": ["spammer@example.com"]])
        try await SMTPTestClient.with(.session, config: hosts) { client in
            try await client.greeting()
            try await client.ehlo()
            try await client.mail(from: "spammer@example.com").expect(250)
            try await client.rcpt(to: "anyone@elsewhere.example").expect(250)
        }
        let recipients = Self.config(["whitelist"], ["whitelistrcpt": ["open.example"]])
        try await SMTPTestClient.with(.session, config: recipients) { client in
            try await client.greeting()
            try await client.ehlo()
            try await client.mail(from: "a@example.com").expect(250)
            try await client.rcpt(to: "anyone@open.example").expect(250)
            #expect(try await client.rcpt(to: "anyone@closed.example").expect(550, "5.7.1").text == "5.7.1 Relaying denied")
        }
    }

    @Test func bogusBounce() async throws {
        let queue = CapturedMail()
        var config = Self.config(["bogus_bounce deny"])
        config["plugins"]! += [queue.pluginLine]
        try await SMTPTestClient.with(.session, config: config, { client in
            try await client.greeting()
            try await client.ehlo()
            try await client.mail(from: "<>").expect(250)
            try await client.rcpt(to: "a@test.example").expect(250)
            try await client.rcpt(to: "b@test.example").expect(250)
            let reply = try await client.data("Subject: bounce\n\nhi\n").expect(554, "5.7.1")
            #expect(reply.text == "5.7.1 fail, this bounce message does not have 1 recipient")
            try await client.mail(from: "<>").expect(250)
            try await client.rcpt(to: "a@test.example").expect(250)
            try await client.data("Subject: bounce\n\nhi\n").expect(250)
        })
        #expect(queue.messages.count == 1)
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func parseAddrWithHelo(setup: SMTPTestSetup) async throws {
        try await SMTPTestClient.with(setup, config: Self.config(["parse_addr_withhelo"])) { client in
            try await client.greeting()
            try await client.helo()
            let reply = try await client.mail(from: "a@example.com", parameters: "SIZE=100").expect(501, "5.5.4")
            #expect(reply.text == "5.5.4 No parameters allowed in MAIL")
            try await client.mail(from: "a@example.com").expect(250)
            try await client.ehlo()
            try await client.mail(from: "a@example.com", parameters: "SIZE=100").expect(250)
        }
    }

    @Test(arguments: SMTPTestSetup.allCases)
    func checkSpamHelo(setup: SMTPTestSetup) async throws {
        try await SMTPTestClient.with(setup, config: Self.config(["check_spamhelo"], ["badhelo": ["aol.com"]])) { client in
            try await client.greeting()
            let reply = try await client.command("HELO AOL.com").expect(550, "5.7.1")
            #expect(reply.text == "5.7.1 Sorry, I don't believe that you are aol.com.")
            #expect(try await client.isClosed())
        }
    }
}
