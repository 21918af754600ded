import SMTPDaemon
import SMTPPluginAPI
import SitePlugins

// The built-in plugins, plus ours under the names `config/plugins` uses for them.
var plugins = PluginRegistry.builtIn
plugins.register(RejectNoReplySenders.self, as: "site/reject_noreply")
plugins.register(BadMailFrom.self, as: "site/badmailfrom")
SMTPDaemon.main(plugins: plugins)
