import SMTPCore
import SMTPPluginAPI
import Testing

@testable import SMTPPlugins

/// Byte vectors for the milter protocol's packets, from the layouts in Sendmail's mfdef.h and
/// libmilter's engine: length, command byte, data.
@Suite struct MilterCodecTests {
    @Test func negotiationOfferIsVersionSixWithEveryActionAndStep() {
        let bytes = MilterCommand.negotiate(.offer).packet.encoded()
        #expect(bytes == [0, 0, 0, 13, 0x4F, 0, 0, 0, 6, 0, 0, 0x01, 0xFF, 0, 0x1F, 0xF7, 0xFF])
    }

    @Test func negotiationAnswerNarrowsAndCarriesMacroLists() throws {
        var data: [UInt8] = []
        data.appendUInt32(6)
        data.appendUInt32(MilterActions([.addHeaders, .changeBody, .setMacroList]).rawValue)
        data.appendUInt32(MilterProtocolSteps([.noHelo, .noReplyHeader, .skip]).rawValue)
        data.appendUInt32(0)
        data.appendCString("{client_addr} j")
        data.appendUInt32(5)
        data.appendCString("i {msg_id}")
        data.appendUInt32(9)  // a stage we never send
        data.appendCString("x")
        let answer = try MilterNegotiation.accepting(MilterPacket("O", data))
        #expect(answer.version == 6)
        #expect(answer.actions == [.addHeaders, .changeBody, .setMacroList])
        #expect(answer.steps == [.noHelo, .noReplyHeader, .skip])
        #expect(answer.macroRequests == [.connect: ["{client_addr}", "j"], .endOfMessage: ["i", "{msg_id}"]])
    }

    @Test func negotiationRefusesWhatWasNotOffered() {
        var data: [UInt8] = []
        data.appendUInt32(6)
        data.appendUInt32(0x400)  // an action bit beyond SETSYMLIST
        data.appendUInt32(0)
        #expect(throws: MilterProtocolError.self) { try MilterNegotiation.accepting(MilterPacket("O", data)) }
        var old: [UInt8] = []
        old.appendUInt32(1)
        old.appendUInt32(0)
        old.appendUInt32(0)
        #expect(throws: MilterProtocolError.self) { try MilterNegotiation.accepting(MilterPacket("O", old)) }
        #expect(throws: MilterProtocolError.self) { try MilterNegotiation.accepting(MilterPacket("O", [0, 0, 0, 6])) }
        #expect(throws: MilterProtocolError.self) { try MilterNegotiation.accepting(MilterPacket("c")) }
    }

    @Test func connectCarriesHostFamilyPortAndAddress() {
        let v4 = MilterCommand.connect(hostName: "mail.example", address: MilterClientAddress(ip: "192.0.2.1", port: 4025)).packet
        #expect(v4.encoded() == [0, 0, 0, 27, 0x43] + Array("mail.example".utf8) + [0, 0x34, 0x0F, 0xB9] + Array("192.0.2.1".utf8) + [0])
        let v6 = MilterCommand.connect(hostName: "[2001:db8::1]", address: MilterClientAddress(ip: "2001:db8::1", port: 25)).packet
        #expect(v6.data == Array("[2001:db8::1]".utf8) + [0, 0x36, 0, 25] + Array("2001:db8::1".utf8) + [0])
        #expect(MilterCommand.connect(hostName: "h", address: .unknown).packet.data == [0x68, 0, 0x55])
    }

    @Test func envelopeHeaderBodyAndUnknownPackets() {
        #expect(MilterCommand.helo("client.example").packet == MilterPacket("H", Array("client.example\0".utf8)))
        #expect(MilterCommand.mail(["<a@example.org>", "SIZE=100"]).packet.encoded() == [0, 0, 0, 26, 0x4D] + Array("<a@example.org>\0SIZE=100\0".utf8))
        #expect(MilterCommand.rcpt(["<b@example.net>"]).packet == MilterPacket("R", Array("<b@example.net>\0".utf8)))
        #expect(MilterCommand.header(name: "Subject", value: "hi\n\tthere").packet == MilterPacket("L", Array("Subject\0hi\n\tthere\0".utf8)))
        #expect(MilterCommand.body([1, 2, 3]).packet.encoded() == [0, 0, 0, 4, 0x42, 1, 2, 3])
        #expect(MilterCommand.unknown("XFOO bar").packet == MilterPacket("U", Array("XFOO bar\0".utf8)))
        for (command, byte) in [(MilterCommand.data, "T"), (.endOfHeaders, "N"), (.endOfBody, "E"), (.abort, "A"), (.quit, "Q")] {
            #expect(command.packet.encoded() == [0, 0, 0, 1, Character(byte).asciiValue!])
        }
    }

    @Test func macrosNameTheirStagesCommand() {
        let packet = MilterCommand.macros(.mail, [MilterMacro(name: "i", value: "Q1"), MilterMacro(name: "{auth_type}", value: "PLAIN")]).packet
        #expect(packet == MilterPacket("D", Array("Mi\0Q1\0{auth_type}\0PLAIN\0".utf8)))
        #expect(MilterMacroStage.allCases.map(\.command) == ["C", "H", "M", "R", "T", "E", "N"])
    }

    @Test func decisionsDecode() throws {
        let cases: [(Character, MilterResponse)] = [
            ("a", .accept), ("c", .continue), ("r", .reject), ("t", .tempfail), ("d", .discard), ("s", .skip),
            ("p", .progress), ("f", .connectionFailure), ("4", .shutdown),
        ]
        for (byte, expected) in cases { #expect(try MilterResponse(MilterPacket(byte)) == expected) }
        #expect(throws: MilterProtocolError.self) { try MilterResponse(MilterPacket("Z")) }
    }

    @Test func changesDecode() throws {
        #expect(try MilterResponse(MilterPacket("h", Array("X-Test\0yes\0".utf8))) == .addHeader(name: "X-Test", value: "yes"))
        #expect(try MilterResponse(MilterPacket("i", [0, 0, 0, 0] + Array("X-First\0one\0".utf8))) == .insertHeader(index: 0, name: "X-First", value: "one"))
        #expect(try MilterResponse(MilterPacket("m", [0, 0, 0, 2] + Array("Subject\0\0".utf8))) == .changeHeader(index: 2, name: "Subject", value: ""))
        #expect(try MilterResponse(MilterPacket("b", [0x41, 0x0D, 0x0A])) == .replaceBody([0x41, 0x0D, 0x0A]))
        #expect(try MilterResponse(MilterPacket("e", Array("<new@example.org>\0".utf8))) == .changeSender("<new@example.org>", parameters: nil))
        #expect(try MilterResponse(MilterPacket("e", Array("<new@example.org>\0BODY=8BITMIME\0".utf8))) == .changeSender("<new@example.org>", parameters: "BODY=8BITMIME"))
        #expect(try MilterResponse(MilterPacket("+", Array("<c@example.net>\0".utf8))) == .addRecipient("<c@example.net>", parameters: nil))
        #expect(try MilterResponse(MilterPacket("2", Array("<c@example.net>\0NOTIFY=NEVER\0".utf8))) == .addRecipient("<c@example.net>", parameters: "NOTIFY=NEVER"))
        #expect(try MilterResponse(MilterPacket("-", Array("<b@example.net>\0".utf8))) == .deleteRecipient("<b@example.net>"))
        #expect(try MilterResponse(MilterPacket("q", Array("suspicious\0".utf8))) == .quarantine(reason: "suspicious"))
        #expect(throws: MilterProtocolError.self) { try MilterResponse(MilterPacket("i", [0, 0])) }
        #expect(throws: MilterProtocolError.self) { try MilterResponse(MilterPacket("h", Array("no-nul".utf8))) }
    }

    @Test func replyCodesKeepEveryLine() throws {
        let single = try MilterVerdict.reply("554 5.7.1 Go away")
        #expect(single == SMTPReply(code: 554, enhancedCode: EnhancedStatusCode(5, 7, 1), lines: ["Go away"]))
        let multi = try MilterVerdict.reply("451-4.7.1 first line\r\n451 4.7.1 second line")
        #expect(multi.wireString == "451-4.7.1 first line\r\n451 4.7.1 second line\r\n")
        #expect(try MilterVerdict.refusal(.replyCode("550 rejected")) == .reject(SMTPReply(code: 550, lines: ["rejected"])))
        #expect(throws: MilterProtocolError.self) { try MilterVerdict.reply("250 ok") }
        #expect(throws: MilterProtocolError.self) { try MilterVerdict.reply("550-a\r\n451 b") }
    }

    @Test func socketForms() throws {
        #expect(try MilterEndpointAddress.parse("8891") == .tcp(host: "localhost", port: 8891))
        #expect(try MilterEndpointAddress.parse("127.0.0.2:8891") == .tcp(host: "127.0.0.2", port: 8891))
        #expect(try MilterEndpointAddress.parse("inet:8891@127.0.0.3") == .tcp(host: "127.0.0.3", port: 8891))
        #expect(try MilterEndpointAddress.parse("inet6:8891@[::1]") == .tcp(host: "::1", port: 8891))
        #expect(try MilterEndpointAddress.parse("unix:/run/milter.sock") == .unix(path: "/run/milter.sock"))
        #expect(try MilterEndpointAddress.parse("local:/run/m.sock") == .unix(path: "/run/m.sock"))
        #expect(try MilterEndpointAddress.parse("/run/m.sock") == .unix(path: "/run/m.sock"))
        #expect(throws: PluginArgumentError.self) { try MilterEndpointAddress.parse("inet:x@host") }
        #expect(throws: PluginArgumentError.self) { try MilterEndpointAddress.parse("unix:relative") }
    }

    @Test func lineArguments() throws {
        let defaults = try MilterArguments(PluginArguments(["dkim", "inet:8891@127.0.0.1"]))
        #expect(defaults.defaultAction == .tempfail)
        #expect(defaults.commandTimeout == .seconds(30))
        let set = try MilterArguments(PluginArguments(["dkim", "8891", "default_action", "tempfail", "command_timeout", "2.5", "timeout", "20"]))
        #expect(set.defaultAction == .tempfail)
        #expect(set.commandTimeout == .milliseconds(2500))
        #expect(throws: PluginArgumentError.self) { try MilterArguments(PluginArguments(["dkim"])) }
        #expect(throws: PluginArgumentError.self) { try MilterArguments(PluginArguments(["dkim", "8891", "default_action", "maybe"])) }
        #expect(throws: PluginArgumentError.self) { try MilterArguments(PluginArguments(["dkim", "8891", "colour", "blue"])) }
    }
}

/// What goes out and what waits for an answer under the negotiated steps and version.
@Suite struct MilterStepTests {
    @Test func declinedStepsAreLeftOutAndNoReplyStepsNotAwaited() {
        let options = MilterNegotiation(version: 6, actions: [], steps: [.noHelo, .noReplyHeader, .noReplyRcpt, .noUnknown])
        #expect(!options.wants(.helo("h")))
        #expect(options.wants(.connect(hostName: "h", address: .unknown)) && options.answers(.connect(hostName: "h", address: .unknown)))
        #expect(options.wants(.header(name: "a", value: "b")) && !options.answers(.header(name: "a", value: "b")))
        #expect(options.wants(.rcpt(["<a@b>"])) && !options.answers(.rcpt(["<a@b>"])))
        #expect(!options.wants(.unknown("XFOO")))
        #expect(options.wants(.endOfBody) && options.answers(.endOfBody))
        #expect(!options.answers(.abort) && !options.answers(.quit) && !options.answers(.macros(.connect, [])))
    }

    @Test func olderVersionsGetNeitherDataNorUnknown() {
        let v2 = MilterNegotiation(version: 2, actions: [], steps: [])
        #expect(!v2.wants(.data) && !v2.wants(.unknown("XFOO")))
        let v3 = MilterNegotiation(version: 3, actions: [], steps: [])
        #expect(!v3.wants(.data) && v3.wants(.unknown("XFOO")))
        #expect(MilterNegotiation(version: 6, actions: [], steps: []).wants(.data))
    }
}
