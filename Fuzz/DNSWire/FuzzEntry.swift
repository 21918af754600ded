// libFuzzer entry for DNSWire, built by scripts/fuzz-dnswire.sh: this file is compiled in one
// module with Sources/DNSWire/*.swift, so it reaches the internal encoder without an import.
//
// The property, for every input:
//  1. decode never traps;
//  2. when decode succeeds, encode(decoded) succeeds, decode(encode(decoded)) == decoded, and
//     encoding that again gives the same bytes;
//  except for two documented cases, each checked here rather than merely allowed:
//  - text over a wire limit. Decode repairs invalid UTF-8 to U+FFFD (3 octets for 1) and writes a
//    '.' byte inside a label as U+FFFD (the text form joins labels with '.'), so the text of a
//    label, name or TXT string may outgrow 63/255/255 octets. Encode must then refuse it with
//    .labelTooLong, .nameTooLong or .badRData(type: 16);
//  - .messageTooLarge: the encoder compresses only against names it wrote itself (and only at
//    offsets below 0x4000), while an input may point into other data, so the re-encoding can be
//    longer. The unlimited encoder must then give more than 65535 octets.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSWire(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let decoded = try? DNSWire.decode(input) else { return 0 }

    let encoded: [UInt8]
    do {
        encoded = try DNSWire.encode(decoded)
    } catch .messageTooLarge {
        do {
            let unlimited = try MessageEncoder.encodeWithoutSizeLimit(decoded)
            check(unlimited.count > DNSWire.maximumMessageSize, "messageTooLarge for \(unlimited.count) octets")
        } catch {
            // A record's RDATA over 65535 octets after repair, or text over a limit.
            check(error == .messageTooLarge || hasTextOverWireLimits(decoded), "unlimited encoder threw \(error)")
        }
        return 0
    } catch {
        check([.labelTooLong, .nameTooLong, .badRData(type: DNSType.txt)].contains(error), "encode threw \(error)")
        check(hasTextOverWireLimits(decoded), "encode threw \(error) for text within the limits")
        return 0
    }
    check(!hasTextOverWireLimits(decoded), "encode accepted text over a wire limit")
    do {
        let again = try DNSWire.decode(encoded)
        check(again == decoded, "round trip changed the message:\n\(decoded)\n\(again)")
        check(try DNSWire.encode(again) == encoded, "encoding is not a fixed point")
    } catch {
        check(false, "decoding our own encoding threw \(error)")
    }
    return 0
}

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// Whether any name or TXT string of `message` is too long to write, computed here from the
/// text, independently of the encoder.
private func hasTextOverWireLimits(_ message: DNSMessage) -> Bool {
    func nameTooLong(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        let labels = name.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        let wireOctets = labels.reduce(1) { $0 + 1 + $1.count }
        return wireOctets > 255 || labels.contains { $0.count > 63 }
    }
    func recordTooLong(_ record: DNSResourceRecord) -> Bool {
        if nameTooLong(record.name) { return true }
        switch record.data {
        case .cname(let name), .ptr(let name), .ns(let name), .mx(_, let name): return nameTooLong(name)
        case .soa(let mname, let rname, _, _, _, _, _): return nameTooLong(mname) || nameTooLong(rname)
        case .txt(let strings): return strings.contains { $0.utf8.count > 255 }
        case .a, .aaaa, .unknown: return false
        }
    }
    return message.questions.contains { nameTooLong($0.name) }
        || (message.answers + message.authorities + message.additionals).contains(where: recordTooLong)
}
