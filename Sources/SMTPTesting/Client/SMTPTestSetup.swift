/// Where an `SMTPTestClient`'s session runs. The same script passes on all three; pick the
/// lightest that covers what the test is about, or all of them with
/// `@Test(arguments: SMTPTestSetup.allCases)`.
public enum SMTPTestSetup: String, CaseIterable, Sendable, CustomStringConvertible {
    /// `SMTPSession` alone, fed framed input directly: no channel, no event loop.
    case session
    /// The session behind the real codec on an `NIOAsyncTestingChannel`.
    case embeddedChannel
    /// A `TestServer` listening on 127.0.0.1, reached through a socket.
    case live

    public var description: String { rawValue }
}
