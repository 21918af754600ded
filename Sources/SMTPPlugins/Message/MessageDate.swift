/// Reads an RFC 5322 §3.3 date-time (`Tue, 1 Jul 2003 10:52:37 +0200`) into seconds since the
/// epoch, leniently enough for what real mail carries: the day name is optional, seconds too, a
/// two-digit year is read as RFC 5322 §4.3 says, and the obsolete zone names (UT, GMT, EST…) are
/// understood. Anything else is "not parseable" (nil), which `headers` skips rather than refuses,
/// as qpsmtpd does with Date::Parse.
enum MessageDate {
    static func secondsSinceEpoch(_ text: String) -> Double? {
        // Comments such as `(CEST)` carry nothing we need.
        var words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }).map(String.init)
        words.removeAll { $0.hasPrefix("(") }
        if let first = words.first, first.hasSuffix(",") || dayNames.contains(first.lowercased()) {
            words.removeFirst()
        } else if let first = words.first, let comma = first.firstIndex(of: ",") {
            words[0] = String(first[first.index(after: comma)...])
        }
        guard words.count >= 4,
            let day = Int(words[0]), (1...31).contains(day),
            let month = monthNames.firstIndex(of: words[1].lowercased().prefix(3).description),
            var year = Int(words[2]), year >= 0
        else { return nil }
        if words[2].count <= 2 { year += year < 50 ? 2000 : 1900 } else if words[2].count == 3 { year += 1900 }
        let clock = words[3].split(separator: ":")
        guard clock.count == 2 || clock.count == 3,
            let hour = Int(clock[0]), let minute = Int(clock[1]), (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        let second = clock.count == 3 ? Int(clock[2]) : 0
        guard let second, (0...60).contains(second) else { return nil }
        let offset = words.count > 4 ? zoneOffset(words[4]) : 0
        guard let offset else { return nil }
        let days = daysFromCivil(year: year, month: month + 1, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
    }

    private static let dayNames: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Seconds east of UTC for `+hhmm`/`-hhmm` or an obsolete zone name (RFC 5322 §4.3); military
    /// letters are read as UTC, as that section advises.
    private static func zoneOffset(_ zone: String) -> Int? {
        if let sign = zone.first, sign == "+" || sign == "-" {
            let digits = zone.dropFirst()
            guard digits.count == 4, let value = Int(digits) else { return nil }
            let seconds = (value / 100) * 3600 + (value % 100) * 60
            return sign == "-" ? -seconds : seconds
        }
        switch zone.uppercased() {
        case "UT", "UTC", "GMT", "Z": return 0
        case "EDT": return -4 * 3600
        case "EST", "CDT": return -5 * 3600
        case "CST", "MDT": return -6 * 3600
        case "MST", "PDT": return -7 * 3600
        case "PST": return -8 * 3600
        default: return zone.count == 1 && zone.first!.isLetter ? 0 : nil
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
