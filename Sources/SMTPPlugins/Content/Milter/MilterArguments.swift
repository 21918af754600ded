import SMTPPluginAPI

/// What to do when a milter cannot be reached, times out or breaks the protocol (Postfix's
/// `milter_default_action`).
enum MilterDefaultAction: String, Sendable, Hashable {
    case accept, tempfail, reject
}

/// One `milter NAME SOCKET [connect_timeout S] [command_timeout S] [content_timeout S]
/// [default_action accept|tempfail|reject]` line. The engine's own `timeout` word still bounds
/// each hook; these per-step timeouts are cut to end before it.
struct MilterArguments: Sendable, Hashable {
    var name: String
    var endpoint: OutboundEndpoint
    /// Connecting and the option negotiation (Postfix's milter_connect_timeout is 30 s).
    var connectTimeout: Duration = .seconds(10)
    /// Each command from connect to end of headers (Postfix's milter_command_timeout).
    var commandTimeout: Duration = .seconds(30)
    /// Each body chunk and the end-of-message answer (Postfix's milter_content_timeout is 300 s;
    /// ours stays under the default plugin_timeout of 120 s).
    var contentTimeout: Duration = .seconds(100)
    /// Postfix's default. qpsmtpd's plugin had none: a milter it could not reach made its later
    /// hooks die, which refused HELO with Perl's error text; a temporary refusal keeps the mail
    /// with the client until the milter is back, and neither loses it nor lets it in unchecked.
    var defaultAction: MilterDefaultAction = .tempfail

    init(_ arguments: PluginArguments) throws {
        let words = arguments.words
        guard words.count >= 2 else { throw PluginArgumentError("milter needs a name and a socket: milter NAME [HOST:]PORT|inet:PORT@HOST|unix:/path") }
        name = words[0]
        endpoint = try MilterEndpointAddress.parse(words[1])
        var index = 2
        while index < words.count {
            let key = words[index]
            guard index + 1 < words.count else { throw PluginArgumentError("milter: '\(key)' needs a value") }
            let value = words[index + 1]
            switch key {
            case "connect_timeout": connectTimeout = try Self.seconds(value, key)
            case "command_timeout": commandTimeout = try Self.seconds(value, key)
            case "content_timeout": contentTimeout = try Self.seconds(value, key)
            case "default_action":
                guard let action = MilterDefaultAction(rawValue: value.lowercased()) else {
                    throw PluginArgumentError("milter: default_action must be accept, tempfail or reject, not '\(value)'")
                }
                defaultAction = action
            case "timeout", "loglevel": break  // the engine's, read by PluginPolicy
            default: throw PluginArgumentError("milter: unknown argument '\(key)'")
            }
            index += 2
        }
    }

    private static func seconds(_ value: String, _ key: String) throws -> Duration {
        guard let seconds = Double(value), seconds > 0 else { throw PluginArgumentError("milter: \(key) must be a positive number of seconds, not '\(value)'") }
        return .milliseconds(Int64(seconds * 1000))
    }
}
