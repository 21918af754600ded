public import Logging

/// The connection the running task serves, for log lines written through loggers that were made
/// before the connection existed (a plugin's logger comes from load time). The daemon installs
/// `metadataProvider`, so every record logged inside a session's task, and inside tasks it
/// starts, carries the connection id.
public enum SessionLogContext {
    @TaskLocal public static var connectionID: String?

    public static let metadataProvider = Logger.MetadataProvider {
        guard let id = connectionID else { return [:] }
        return ["conn": .string(id)]
    }
}
