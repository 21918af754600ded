public import Logging
public import SMTPPluginAPI

/// A problem in the config directory, pointing at the file and line.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var message: String

    /// `file:line: message`, or `file: message` for a problem with the whole file (line 0).
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// Builds the hook registry from `config/logging` and `config/plugins`, in file order.
public struct PluginLoader: Sendable {
    public var registry: PluginRegistry
    public var config: any ConfigStore
    public var services: PluginServices
    public var logger: Logger

    public init(registry: PluginRegistry, config: any ConfigStore, services: PluginServices, logger: Logger) {
        self.registry = registry
        self.config = config
        self.services = services
        self.logger = logger
    }

    /// Loads every plugin line, collecting all problems rather than stopping at the first.
    public func load() -> (hooks: HookRegistry, errors: [ConfigError]) {
        var hooks = HookRegistry()
        var errors: [ConfigError] = []
        // Logging plugins come first, so the others' start-up messages reach them (qpsmtpd does the same).
        let logging = config.entries("logging")
        var logger = self.logger
        for (index, line) in (logging + config.entries("plugins")).enumerated() {
            // The other plugins log as verbosely as the most verbose logging plugin writes.
            if index == logging.count { logger = Self.raised(logger, to: hooks.loggingCeiling) }
            do {
                try load(line, into: &hooks, logger: logger)
            } catch let error as ConfigError {
                errors.append(error)
            } catch {
                errors.append(ConfigError(file: line.file, line: line.lineNumber, message: "\(error)"))
            }
        }
        return (hooks, errors)
    }

    /// `logger` at `level` (qpsmtpd's 0-7) when that is more verbose than it is; else unchanged.
    public static func raised(_ logger: Logger, to level: Int?) -> Logger {
        guard let level, level > QpsmtpdLogLevel.qpsmtpdLevel(logger.logLevel) else { return logger }
        var raised = logger
        raised.logLevel = QpsmtpdLogLevel.swiftLogLevel(level)
        return raised
    }

    private func load(_ line: ConfigLine, into hooks: inout HookRegistry, logger: Logger) throws {
        // qpsmtpd refuses anything but printable ASCII in a plugins line.
        guard line.text.unicodeScalars.allSatisfy({ ($0.value >= 0x20 && $0.value < 0x7F) || $0 == "\t" }) else {
            throw ConfigError(file: line.file, line: line.lineNumber, message: "unsafe characters in config line")
        }
        let words = line.text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let instanceName = words.first else { return }
        // `name:N` loads another instance of the same plugin.
        let baseName = instanceName.split(separator: ":", maxSplits: 1).first.map(String.init) ?? instanceName
        guard let type = registry.type(named: baseName) else {
            if let why = UnsupportedPlugins.explanation(for: baseName) {
                throw ConfigError(file: line.file, line: line.lineNumber, message: "plugin '\(baseName)': \(why)")
            }
            throw ConfigError(file: line.file, line: line.lineNumber, message: "unknown plugin '\(baseName)' (run 'qpsmtpd plugins' for the list)")
        }
        let arguments = PluginArguments(Array(words.dropFirst()))
        // timeout, reject, reject_type and loglevel mean the same for every plugin: read once here.
        let policy = PluginPolicy(arguments)
        var pluginLogger = logger
        pluginLogger[metadataKey: "plugin"] = "\(instanceName)"
        if let setting = policy.logLevel {
            let level = setting.level(from: QpsmtpdLogLevel.qpsmtpdLevel(logger.logLevel))
            pluginLogger.logLevel = QpsmtpdLogLevel.swiftLogLevel(level)
        }
        let context = PluginContext(
            instanceName: instanceName, arguments: arguments,
            config: config, logger: pluginLogger, services: services)
        let plugin: any SMTPPlugin
        do {
            plugin = try type.init(context: context)
        } catch {
            throw ConfigError(file: line.file, line: line.lineNumber, message: "plugin '\(instanceName)': \(error)")
        }
        hooks.registrant = HookRegistry.Registrant(name: instanceName, logger: pluginLogger, policy: policy)
        plugin.register(into: &hooks)
    }
}
