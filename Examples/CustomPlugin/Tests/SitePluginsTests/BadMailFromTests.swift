import SMTPTesting
import SitePlugins
import Testing

@Test func refusesListedSendersAndDomains() async throws {
    let plugin = try PluginHarness(BadMailFrom.self, "site/badmailfrom", config: ["badmailfrom": ["spam@example.com", "@junk.example"]])
    #expect(try await plugin.mail(from: "Spam@Example.com") == .deny("Your envelope sender is in my badmailfrom list"))
    #expect(try await plugin.mail(from: "anyone@junk.example") == .deny("Your envelope sender is in my badmailfrom list"))
    #expect(try await plugin.mail(from: "friend@example.com") == .declined)
    #expect(try await plugin.mail(from: "<>") == .declined)
}

@Test func rejectZeroOnlyLogs() async throws {
    let plugin = try PluginHarness(BadMailFrom.self, "site/badmailfrom reject 0", config: ["badmailfrom": ["spam@example.com"]])
    #expect(try await plugin.mail(from: "spam@example.com") == .declined)
}
