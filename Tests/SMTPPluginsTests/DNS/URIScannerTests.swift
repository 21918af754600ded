import Testing

@testable import SMTPPlugins

@Suite struct URIScannerTests {
    private func names(_ chunks: [[UInt8]], whitelist: Set<String> = [], checkIP: Bool = true, max: Int = 100) -> [String] {
        var scanner = URIScanner(whitelist: whitelist, checkIP: checkIP, maxNames: max)
        for chunk in chunks { scanner.scan(chunk) }
        scanner.finish()
        return scanner.names
    }

    private func names(_ text: String, whitelist: Set<String> = [], checkIP: Bool = true) -> [String] {
        names([Array(text.utf8)], whitelist: whitelist, checkIP: checkIP)
    }

    @Test func findsSchemedAndBareHosts() {
        #expect(names("see http://www.Evil.example/x and mail@spam.biz, www.site.xyz") == [
            "evil.example", "www.evil.example", "spam.biz", "site.xyz", "www.site.xyz",
        ])
    }

    /// A bare word needs qpsmtpd's TLDs, so file names are not taken for hosts; a URI's host may
    /// have any TLD.
    @Test func bareNamesNeedAKnownTLD() {
        #expect(names("report.pdf index.html notes.txt archive.tar.gz") == ["tar.gz", "archive.tar.gz"])
        #expect(names("https://evil.online/") == ["evil.online"])
        #expect(names("evil.online") == [])
    }

    @Test func ignoresWhatIsNotAHost() {
        #expect(names("1.2.3.4 a..b.com -.com e.g version 1.2") == [])
        #expect(names("http://[2001:db8::1]/") == [])
    }

    @Test func addresses() {
        #expect(names("http://192.0.2.5/ ftp://3221225990 http://0xC0.0.02.7:80/") == ["5.2.0.192", "6.2.0.192", "7.2.0.192"])
        #expect(names("http://192.0.2.5/", checkIP: false) == [])
        #expect(names("http://300.1.1.1/ http://12345/") == [])
    }

    @Test func whitelistedRegisteredDomainsAreSkipped() {
        var scanner = URIScanner(whitelist: ["example.co.uk"], checkIP: true, maxNames: 10)
        scanner.scan(Array("http://www.example.co.uk/ http://www.other.co.uk/".utf8))
        scanner.finish()
        #expect(scanner.names == ["other.co.uk", "www.other.co.uk"])
        #expect(scanner.whitelisted == ["example.co.uk"])
    }

    @Test func stopsAtTheBudget() {
        var scanner = URIScanner(whitelist: [], checkIP: true, maxNames: 3)
        scanner.scan(Array("http://a.one.example/ http://b.two.example/ http://c.three.example/".utf8))
        #expect(scanner.isFull)
        #expect(scanner.names == ["one.example", "a.one.example", "two.example"])
    }

    /// Whatever the chunk boundaries, the same names come out: escapes, entities and soft breaks
    /// split between chunks are joined.
    @Test func everySplitGivesTheSameNames() {
        let text = Array("x http://evil.exa=\r\nmple/%77ww ok.example.org &#104;ttp://a&#46;b.example.com/ y=\n=3D http://e.example.net".utf8)
        let whole = names([text])
        #expect(whole == ["evil.example", "example.org", "ok.example.org", "example.com", "a.b.example.com", "b.example.com", "example.net", "e.example.net"])
        for cut in 1..<text.count {
            #expect(names([Array(text[..<cut]), Array(text[cut...])]) == whole, "cut at \(cut)")
        }
        #expect(names(text.map { [$0] }) == whole)
    }

    /// A run without white space longer than a word is cut; a URI at the cut is still found.
    @Test func longRunsAreCutWithoutLosingURIs() {
        for offset in stride(from: URIScanner.maxWordLength - 300, through: URIScanner.maxWordLength + 300, by: 7) {
            let filler = String(repeating: "x", count: offset)
            let text = filler + "<a_href=\"http://www.evil.example/\">" + String(repeating: "y", count: 20_000)
            #expect(names(text) == ["evil.example", "www.evil.example"], "URI at \(offset)")
        }
    }

    @Test func decoderJoinsSoftBreaksAndUndoesEscapes() {
        var decoder = URITextDecoder()
        var out: [UInt8] = []
        decoder.decode(Array("a=\r\nb=\nc %41=42 &#67;&#100 ;; =ZZ %4".utf8), into: &out)
        decoder.finish(into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "abc AB Cd  =ZZ %4")
    }
}
