/// Undoes the munging qpsmtpd's uribl undoes before it looks for URIs, on a stream of chunks:
/// quoted-printable soft line breaks (`=` at a line's end joins it to the next), `%XX` and `=XX`
/// escapes, `&#NN;` / `&#NNN;` entities, and every `;` removed. Each step keeps the few bytes
/// that may be the start of a sequence completed by the next chunk, so a URI split by a chunk
/// boundary, a soft line break or an escape comes out whole.
struct URITextDecoder {
    private var softBreaks = SoftBreakJoiner()
    private var escapes = HexUnescaper()
    private var entities = EntityDecoder()
    private var first: [UInt8] = []
    private var second: [UInt8] = []

    /// Decodes `input`, appending the text that is certain to `output`.
    mutating func decode(_ input: some Collection<UInt8>, into output: inout [UInt8]) {
        first.removeAll(keepingCapacity: true)
        second.removeAll(keepingCapacity: true)
        softBreaks.run(input, into: &first)
        escapes.run(first, into: &second)
        entities.run(second, into: &output)
    }

    /// The bytes still held at the end of the message.
    mutating func finish(into output: inout [UInt8]) {
        first.removeAll(keepingCapacity: true)
        second.removeAll(keepingCapacity: true)
        softBreaks.finish(into: &first)
        escapes.run(first, into: &second)
        escapes.finish(into: &second)
        entities.run(second, into: &output)
        entities.finish(into: &output)
    }
}

/// `=` then an optional CR then LF is a soft line break: the three go, the lines join.
private struct SoftBreakJoiner {
    /// `=` or `=\r` seen, not yet known to be a soft break.
    private var pending: [UInt8] = []

    mutating func run(_ input: some Collection<UInt8>, into output: inout [UInt8]) {
        output.reserveCapacity(output.count + input.count)
        for byte in input {
            if !pending.isEmpty {
                if byte == 0x0A {
                    pending.removeAll(keepingCapacity: true)
                    continue
                }
                if byte == 0x0D && pending.count == 1 {
                    pending.append(byte)
                    continue
                }
                output += pending
                pending.removeAll(keepingCapacity: true)
            }
            if byte == 0x3D {
                pending.append(byte)
            } else {
                output.append(byte)
            }
        }
    }

    mutating func finish(into output: inout [UInt8]) {
        output += pending
        pending.removeAll()
    }
}

/// `%XX` and `=XX` (two hex digits) become the byte they name.
private struct HexUnescaper {
    private var pending: [UInt8] = []

    mutating func run(_ input: [UInt8], into output: inout [UInt8]) {
        output.reserveCapacity(output.count + input.count)
        for byte in input { take(byte, into: &output) }
    }

    private mutating func take(_ byte: UInt8, into output: inout [UInt8]) {
        switch pending.count {
        case 0:
            if byte == 0x25 || byte == 0x3D { pending.append(byte) } else { output.append(byte) }
        case 1:
            if hexValue(byte) != nil {
                pending.append(byte)
            } else {
                output.append(pending[0])
                pending.removeAll(keepingCapacity: true)
                take(byte, into: &output)
            }
        default:
            if let low = hexValue(byte), let high = hexValue(pending[1]) {
                output.append(high << 4 | low)
                pending.removeAll(keepingCapacity: true)
            } else {
                // The marker was not an escape; its first digit may not start one either.
                output.append(pending[0])
                output.append(pending[1])
                pending.removeAll(keepingCapacity: true)
                take(byte, into: &output)
            }
        }
    }

    mutating func finish(into output: inout [UInt8]) {
        output += pending
        pending.removeAll()
    }
}

/// `&#` and two or three digits (a `;` after it goes with the rest) become that character;
/// one above 255 cannot be part of a host name and becomes a byte that is not either.
private struct EntityDecoder {
    private var pending: [UInt8] = []

    mutating func run(_ input: [UInt8], into output: inout [UInt8]) {
        output.reserveCapacity(output.count + input.count)
        for byte in input { take(byte, into: &output) }
    }

    private mutating func take(_ byte: UInt8, into output: inout [UInt8]) {
        let isDigit = byte >= 0x30 && byte <= 0x39
        switch pending.count {
        case 0:
            if byte == 0x26 { pending.append(byte) } else { emit(byte, into: &output) }
        case 1:
            if byte == 0x23 { pending.append(byte) } else { flushAndRetake(byte, into: &output) }
        case 2, 3:
            if isDigit { pending.append(byte) } else { flushAndRetake(byte, into: &output) }
        default:
            if isDigit {
                pending.append(byte)
                emitEntity(into: &output)
            } else {
                emitEntity(into: &output)
                take(byte, into: &output)
            }
        }
    }

    private mutating func flushAndRetake(_ byte: UInt8, into output: inout [UInt8]) {
        for held in pending { emit(held, into: &output) }
        pending.removeAll(keepingCapacity: true)
        take(byte, into: &output)
    }

    /// `pending` is `&#` and two or three digits.
    private mutating func emitEntity(into output: inout [UInt8]) {
        let value = pending.dropFirst(2).reduce(0) { $0 * 10 + Int($1 - 0x30) }
        emit(value <= 0xFF ? UInt8(value) : 0xFF, into: &output)
        pending.removeAll(keepingCapacity: true)
    }

    /// The last step: every `;` is dropped (qpsmtpd's defence against `exa;mple.com`).
    private func emit(_ byte: UInt8, into output: inout [UInt8]) {
        if byte != 0x3B { output.append(byte) }
    }

    mutating func finish(into output: inout [UInt8]) {
        if pending.count >= 4 {
            emitEntity(into: &output)
        } else {
            for held in pending { emit(held, into: &output) }
            pending.removeAll()
        }
    }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: return byte - 0x30
    case 0x41...0x46: return byte - 0x41 + 10
    case 0x61...0x66: return byte - 0x61 + 10
    default: return nil
    }
}
