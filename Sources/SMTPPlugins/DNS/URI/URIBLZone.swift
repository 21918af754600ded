import SMTPPluginAPI

/// One line of `uribl_zones`: `zone [mask[,mask…]] [action]`. The masks are OR-ed together and
/// select the lists of a combined zone (multi.surbl.org) whose bits count; none, or a negative
/// one, means every list (0x00ffffff). The action overrides the plugin's `action` argument.
struct URIBLZone: Sendable, Hashable {
    enum Action: String, Sendable, Hashable {
        case addHeader = "add-header"
        case deny
        case denySoft = "denysoft"
        /// Only log the match.
        case log
    }

    static let allLists: UInt32 = 0x00FF_FFFF

    var zone: String
    var mask: UInt32
    var action: Action

    /// Parses one meaningful line; throws the file and line with what is wrong, as qpsmtpd logs it.
    init(_ line: ConfigLine, defaultAction: Action) throws {
        let columns = line.text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let place = "\(line.file):\(line.lineNumber)"
        guard let zone = columns.first, columns.count <= 3 else {
            throw PluginArgumentError("\(place): uribl_zones lines are 'zone [mask,…] [action]', not '\(line.text)'")
        }
        self.zone = HostName.normalized(zone)
        var mask: UInt32 = 0
        if columns.count >= 2 {
            for part in columns[1].split(separator: ",", omittingEmptySubsequences: false) {
                guard let value = Int64(part) else {
                    throw PluginArgumentError("\(place): malformed mask \(part) for \(zone)")
                }
                mask |= value < 0 ? Self.allLists : UInt32(truncatingIfNeeded: value)
            }
        }
        // qpsmtpd reads a missing or zero mask as "every list".
        self.mask = mask == 0 ? Self.allLists : mask
        if columns.count == 3 {
            guard let action = Action(rawValue: columns[2].lowercased()) else {
                throw PluginArgumentError("\(place): unknown action \(columns[2]) for \(zone) (add-header, deny, denysoft or log)")
            }
            self.action = action
        } else {
            self.action = defaultAction
        }
    }

    init(zone: String, mask: UInt32 = URIBLZone.allLists, action: Action) {
        self.zone = zone
        self.mask = mask
        self.action = action
    }

    /// Whether an A answer (`127.0.0.x`) lists the name in one of the selected lists.
    func isListed(by answer: String) -> Bool {
        guard let address = IPAddress(answer), address.isV4 else { return false }
        let value = address.octets.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return value & mask != 0
    }
}
