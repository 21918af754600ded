import SMTPCore
import SMTPPluginAPI

/// The envelope qmail-queue reads on descriptor 1 (qmail-queue(8)): `F<sender>\0`, then
/// `T<recipient>\0` for each recipient, then one more `\0` that says the list is complete.
/// Addresses are bare (`address()` form), the null sender an empty `F`, a bare postmaster `Tpostmaster`.
enum QmailEnvelope {
    /// nil when an address holds a NUL, which would end it early and shift every field after it.
    static func bytes(sender: ReversePath?, recipients: [Mailbox]) -> [UInt8]? {
        var out: [UInt8] = [UInt8(ascii: "F")]
        let addresses = [sender?.address ?? ""] + recipients.map(\.address)
        guard addresses.allSatisfy({ !$0.utf8.contains(0) }) else { return nil }
        out += Array(addresses[0].utf8) + [0]
        for recipient in addresses.dropFirst() {
            out += [UInt8(ascii: "T")] + Array(recipient.utf8) + [0]
        }
        out.append(0)
        return out
    }
}
