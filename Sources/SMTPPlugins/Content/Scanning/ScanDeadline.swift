import SMTPPluginAPI

extension HookContext {
    /// When a scan must have ended: a little before the hook's own deadline, so the plugin still
    /// has time to answer with its fail-open or fail-closed result instead of the runner's timeout.
    var scanDeadline: ContinuousClock.Instant {
        deadline - min(Duration.seconds(1), timeRemaining / 10)
    }
}
