/// Finds the names a URI blocklist is asked about in message text fed in chunks of any size,
/// holding at most one word (a run without white space, cut at `maxWordLength`) between chunks:
///
///     var scanner = URIScanner(whitelist: ["example.org"], checkIP: true, maxNames: 50)
///     for try await chunk in spool.body(of: message) { scanner.scan(chunk); if scanner.isFull { break } }
///     scanner.finish()
///     scanner.names   // ["evil.example", "www.evil.example", "4.3.2.1", ...]
///
/// What counts as a URI follows qpsmtpd's uribl: a `scheme://` URI's host (any alphabetic TLD) or
/// IPv4 address (dotted, with octal or hex parts, or one integer), and a bare host name whose TLD
/// is a two-letter country code or one of qpsmtpd's generic TLDs (or any TLD after `www.`), so
/// file names such as `report.pdf` are not taken for hosts.
struct URIScanner {
    /// Distinct names, in the order found.
    private(set) var names: [String] = []
    private var seen: Set<String> = []
    /// Registered domains skipped because `uribl_whitelist_domains` lists them.
    private(set) var whitelisted: Set<String> = []
    /// The name budget is spent: reading further would find nothing that gets looked up.
    var isFull: Bool { names.count >= maxNames }

    private let whitelist: Set<String>
    private let checkIP: Bool
    private let maxNames: Int
    private var decoder = URITextDecoder()
    private var decoded: [UInt8] = []
    private var word: [UInt8] = []

    /// A longer run without white space is scanned in pieces: the last `carriedLength` bytes go
    /// on to the next piece, and only what ends `settledDistance` bytes before a cut is taken
    /// from the piece, so a URI across the cut (host names have at most 253 octets) is seen whole.
    static let maxWordLength = 8192
    static let carriedLength = 2048
    static let settledDistance = 512

    init(whitelist: Set<String>, checkIP: Bool, maxNames: Int) {
        self.whitelist = Set(whitelist.map(HostName.normalized))
        self.checkIP = checkIP
        self.maxNames = maxNames
    }

    mutating func scan(_ chunk: some Collection<UInt8>) {
        decoded.removeAll(keepingCapacity: true)
        decoder.decode(chunk, into: &decoded)
        consume(decoded)
    }

    /// Ends the text: whatever is still held is scanned.
    mutating func finish() {
        decoded.removeAll(keepingCapacity: true)
        decoder.finish(into: &decoded)
        consume(decoded)
        if !word.isEmpty { scanWord(settledBefore: word.count) }
        word.removeAll()
    }

    private mutating func consume(_ bytes: [UInt8]) {
        for byte in bytes {
            if URIBytes.isSpace(byte) {
                if !word.isEmpty {
                    scanWord(settledBefore: word.count)
                    word.removeAll(keepingCapacity: true)
                }
                continue
            }
            word.append(byte)
            if word.count >= Self.maxWordLength {
                scanWord(settledBefore: word.count - Self.settledDistance)
                word.removeFirst(word.count - Self.carriedLength)
            }
        }
    }

    /// Takes the URIs and host names of `word` that end before `limit`.
    private mutating func scanWord(settledBefore limit: Int) {
        guard !isFull else { return }
        let bytes = word
        for uri in URIBytes.schemedHosts(in: bytes) where uri.upperBound <= limit {
            if let ip = URIBytes.ipv4(bytes[uri]) {
                if checkIP { add(ip.reversed().map(String.init).joined(separator: ".")) }
            } else if let host = URIBytes.hostName(bytes[uri], anyTLD: true) {
                addHost(host)
            }
        }
        for run in URIBytes.hostRuns(in: bytes) where run.upperBound <= limit {
            if let host = URIBytes.hostName(bytes[run], anyTLD: false) { addHost(host) }
        }
    }

    private mutating func addHost(_ host: String) {
        if let domain = RegisteredDomain.of(host), whitelist.contains(domain) {
            whitelisted.insert(domain)
            return
        }
        for name in RegisteredDomain.lookupNames(for: host) { add(name) }
    }

    private mutating func add(_ name: String) {
        guard !isFull, seen.insert(name).inserted else { return }
        names.append(name)
    }
}
