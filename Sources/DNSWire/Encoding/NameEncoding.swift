/// A name's text into its uncompressed wire form.
enum NameEncoding {
    private static let maximumLabelOctets = 63

    /// The length-prefixed labels and the final root octet, and where each label starts. Text is
    /// written as its UTF-8 bytes, case kept. "" (or ".") is the root; one trailing dot is allowed,
    /// as in "example.com.".
    static func wireForm(of name: String) throws(DNSWireError) -> (wire: [UInt8], labelStarts: [Int]) {
        var text = name.utf8[...]
        if text.last == UInt8(ascii: ".") { text = text.dropLast() }
        var wire: [UInt8] = []
        var labelStarts: [Int] = []
        if text.isEmpty {
            // "." alone is the root, but ".." is not a name.
            guard name.utf8.count <= 1 else { throw .emptyLabel }
            return ([0], [])
        }
        wire.reserveCapacity(text.count + 2)
        var labelStart = 0
        wire.append(0)
        for byte in text {
            if byte == UInt8(ascii: ".") {
                try closeLabel(&wire, at: labelStart)
                labelStarts.append(labelStart)
                labelStart = wire.count
                wire.append(0)
            } else {
                wire.append(byte)
            }
        }
        try closeLabel(&wire, at: labelStart)
        labelStarts.append(labelStart)
        wire.append(0)
        guard wire.count <= WireReader.maximumNameOctets else { throw .nameTooLong }
        return (wire, labelStarts)
    }

    private static func closeLabel(_ wire: inout [UInt8], at labelStart: Int) throws(DNSWireError) {
        let length = wire.count - labelStart - 1
        guard length > 0 else { throw .emptyLabel }
        guard length <= maximumLabelOctets else { throw .labelTooLong }
        wire[labelStart] = UInt8(length)
    }
}
