import SMTPPluginAPI

extension HookContext {
    /// When a DNS lookup made now must end: `timeout` from now, and never after the hook's own deadline.
    func lookupDeadline(within timeout: Duration?) -> ContinuousClock.Instant {
        guard let timeout else { return deadline }
        return min(deadline, .now + timeout)
    }
}
