/// Bytes of labels and character-strings into text, and the text limits the encoder enforces.
enum WireText {
    /// The UTF-8 form of U+FFFD, which stands for a '.' byte inside a label: the text form joins
    /// labels with '.', so a literal one would change the name's labels when written back.
    static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// Appends a label's bytes with ASCII lower-cased and '.' replaced. Invalid UTF-8 is left for
    /// `String(decoding:as:)` to repair when the whole name becomes text.
    @inline(__always)
    static func appendLabel(_ label: ArraySlice<UInt8>, to text: inout [UInt8]) {
        for byte in label {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): text.append(byte | 0x20)
            case UInt8(ascii: "."): text.append(contentsOf: replacementCharacter)
            default: text.append(byte)
            }
        }
    }

    /// A character-string (RFC 1035 §3.3) as text: UTF-8, invalid sequences repaired.
    static func characterString(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
