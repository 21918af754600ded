import SMTPPluginAPI

extension HookContext {
    /// The spooled message a data_post scanner should look at, or nil (logged) when it should not
    /// scan: no body, larger than `sizeLimit` bytes, or from a relay client when the plugin was
    /// told to skip those. The three checks every scanner makes first, in the same order.
    func messageToScan(_ transaction: Transaction, sizeLimit: Int, skipRelayClients: Bool = false) -> SpooledMessage? {
        guard let body = transaction.body else { return nil }
        if transaction.dataSize > sizeLimit {
            logger.info("skip, too large to scan (\(transaction.dataSize) > \(sizeLimit) bytes)")
            return nil
        }
        if skipRelayClients && connection.isRelayClient {
            logger.info("skip, relayclient")
            return nil
        }
        return body
    }
}
