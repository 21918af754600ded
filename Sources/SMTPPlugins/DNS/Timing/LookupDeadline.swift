import SMTPPluginAPI

extension HookContext {
    /// Kept back from the hook's deadline so a plugin that stops waiting still answers before the
    /// engine gives up on it (the resolver keeps the same margin for its own lookups).
    static let answerMargin: Duration = .milliseconds(100)

    /// When waiting for DNS that started now must end: `timeout` from now, and never later than
    /// `answerMargin` before the hook's own deadline.
    func lookupDeadline(within timeout: Duration?) -> ContinuousClock.Instant {
        let latest = deadline - Self.answerMargin
        guard let timeout else { return latest }
        return min(latest, .now + timeout)
    }
}
