/// One log record as one JSON object on one line, for log shippers (Vector, Fluent Bit,
/// Filebeat, jq): `{"time":…,"pid":…,"connection":…,"hook":…,"plugin":…,"level":…,
/// "severity":…,"message":…}`. Absent fields are `null`, so every line has the same keys.
public enum LogJSON {
    static let levelNames = ["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]

    public static func format(_ record: LogRecord, pid: Int32) -> String {
        var line = "{\"time\":\"\(record.time.rfc3339)\",\"pid\":\(pid)"
        line += ",\"connection\":" + quoted(record.connectionID)
        line += ",\"hook\":" + quoted(record.hook)
        line += ",\"plugin\":" + quoted(record.plugin)
        let name = levelNames.indices.contains(record.level) ? levelNames[record.level] : String(record.level)
        line += ",\"level\":\"\(name)\",\"severity\":\(record.level)"
        line += ",\"message\":" + quoted(record.message)
        line += "}\n"
        return line
    }

    /// A JSON string (RFC 8259 §7): quote, backslash and control characters escaped, so a
    /// message can never end the line or the object early.
    static func quoted(_ text: String?) -> String {
        guard let text else { return "null" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
