import SMTPDaemon
import SMTPPluginAPI

// The built-in plugins, plus ours under the name `config/plugins` uses for it.
var plugins = PluginRegistry.builtIn
plugins.register(RejectNoReplySenders.self, as: "site/reject_noreply")
SMTPDaemon.main(plugins: plugins)
