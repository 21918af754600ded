/// One triplet's history, as stored: `first:tries:blocked:deliveries`. `first` is when the
/// current grey period started (or, once white, the last delivery).
struct GreylistRecord: Equatable {
    var first = 0
    var tries = 0
    var blocked = 0
    var deliveries = 0

    enum Verdict: Equatable {
        case firstSeen, tooSoon, promoted, known
        var refuses: Bool { self == .firstSeen || self == .tooSoon }
    }

    init(first: Int = 0, tries: Int = 0, blocked: Int = 0, deliveries: Int = 0) {
        self.first = first
        self.tries = tries
        self.blocked = blocked
        self.deliveries = deliveries
    }

    init(_ text: String?) {
        let numbers = (text ?? "").split(separator: ":").map { Int($0) ?? 0 }
        guard numbers.count == 4 else { return }
        (first, tries, blocked, deliveries) = (numbers[0], numbers[1], numbers[2], numbers[3])
    }

    var text: String { "\(first):\(tries):\(blocked):\(deliveries)" }

    /// Applies one try at `now` (qpsmtpd's black/grey/white periods) and says what it was.
    mutating func visit(at now: Int, _ settings: Greylisting.Settings) -> Verdict {
        let age = now - first
        if tries > 0 && deliveries == 0 {
            if age < settings.blackTimeout {
                blocked += 1
                return .tooSoon
            }
            if age < settings.greyTimeout {
                first = now
                deliveries = 1
                return .promoted
            }
        } else if deliveries > 0 && age < settings.whiteTimeout {
            first = now
            deliveries += 1
            return .known
        }
        // New, or timed out: a new grey period starts.
        first = now
        tries += 1
        deliveries = 0
        return .firstSeen
    }

    /// How long the record matters: past it the triplet counts as new, so the store may drop it.
    func lifetime(from now: Int, _ settings: Greylisting.Settings) -> Int {
        let end = first + (deliveries > 0 ? settings.whiteTimeout : max(settings.greyTimeout, settings.blackTimeout))
        return max(1, end - now)
    }
}
