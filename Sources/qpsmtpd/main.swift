import SMTPDaemon

try await SMTPDaemon.run(plugins: .builtIn)
