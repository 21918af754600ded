// STUB until the plugins branch lands.
import SMTPPluginAPI

public enum BuiltInPlugins {
    public static let all: [(name: String, type: any SMTPPlugin.Type)] = []
}
