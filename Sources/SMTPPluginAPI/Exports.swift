// What a plugin needs comes with `import SMTPPluginAPI`: the wire types (Mailbox, ReversePath,
// SMTPReply, EnhancedStatusCode) and the Logger its context hands it.
@_exported public import Logging
@_exported public import SMTPCore
