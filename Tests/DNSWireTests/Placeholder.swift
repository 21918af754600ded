import Testing
@testable import DNSWire
@Test func placeholder() { #expect(Bool(true)) }
