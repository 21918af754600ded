import SMTPDaemon

// Synchronous on purpose: see SMTPDaemon.main.
SMTPDaemon.main(plugins: .builtIn)
