public import SMTPPluginAPI
import SMTPPlugins

/// Plugin names as `config/plugins` writes them, mapped to the types that implement them.
/// Registration is static: type-checked, one binary, no dynamic loading.
public struct PluginRegistry: Sendable {
    public private(set) var types: [String: any SMTPPlugin.Type] = [:]

    public init() {}

    /// Every plugin this package ships.
    public static var builtIn: PluginRegistry {
        var registry = PluginRegistry()
        for (name, type) in BuiltInPlugins.all { registry.register(type, as: name) }
        return registry
    }

    /// Adds a plugin under `name`, replacing any built-in of that name.
    public mutating func register(_ type: any SMTPPlugin.Type, as name: String) {
        types[name] = type
    }

    public func type(named name: String) -> (any SMTPPlugin.Type)? { types[name] }

    public var names: [String] { types.keys.sorted() }
}
