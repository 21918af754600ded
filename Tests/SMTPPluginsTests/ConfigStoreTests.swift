import SMTPPluginAPI
import Testing

@Suite struct ConfigStoreTests {
    @Test func commentsBlankLinesAndTrimming() throws {
        let dir = try TemporaryDirectory()
        try dir.write("rcpthosts", "# comment\n\n  a.example  \n\t\n   # indented comment\nb.example # not a comment\n\tc.example")
        let store = DirectoryConfigStore(searchPath: [dir.path])
        #expect(store.lines("rcpthosts") == ["a.example", "b.example # not a comment", "c.example"])
        #expect(store.entries("rcpthosts").map(\.lineNumber) == [3, 6, 7])
        #expect(store.value("rcpthosts") == "a.example")
        #expect(store.lines("missing").isEmpty)
        #expect(store.value("missing") == nil)
    }

    @Test func includeFileAndDirectory() throws {
        let dir = try TemporaryDirectory()
        try dir.write("rcpthosts", "a.example\n$include more\n$include hosts.d\n$include \(dir.path)/abs/list\nz.example\n")
        try dir.write("more", "b.example\n")
        try dir.write("hosts.d/2", "d.example\n")
        try dir.write("hosts.d/1", "c.example\n")
        try dir.write("hosts.d/.hidden", "hidden.example\n")
        try dir.write("abs/list", "e.example\n")
        let store = DirectoryConfigStore(searchPath: [dir.path])
        #expect(store.lines("rcpthosts") == ["a.example", "b.example", "c.example", "d.example", "e.example", "z.example"])
    }

    @Test func searchPathPrecedenceIsPerFile() throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        try first.write("me", "first.example\n")
        try second.write("me", "second.example\n")
        try second.write("rcpthosts", "from-second.example\n")
        let store = DirectoryConfigStore(searchPath: [first.path, second.path + "/"])
        #expect(store.value("me") == "first.example")
        #expect(store.lines("rcpthosts") == ["from-second.example"])
        #expect(store.location(of: "rcpthosts") == second.path + "/rcpthosts")
    }

    @Test func includeResolvesThroughTheSearchPath() throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        try first.write("rcpthosts", "$include shared\n")
        try second.write("shared", "shared.example\n")
        #expect(DirectoryConfigStore(searchPath: [first.path, second.path]).lines("rcpthosts") == ["shared.example"])
    }

    @Test func circularIncludeTerminates() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a", "a.example\n$include b\n")
        try dir.write("b", "b.example\n$include a\n")
        try dir.write("self", "s.example\n$include self\n")
        let store = DirectoryConfigStore(searchPath: [dir.path])
        // qpsmtpd logs an error and returns nothing; this store drops only the looping include.
        #expect(store.lines("a") == ["a.example", "b.example"])
        #expect(store.lines("self") == ["s.example"])
    }

    @Test func cachedUntilReload() throws {
        let dir = try TemporaryDirectory()
        try dir.write("databytes", "1000\n")
        let store = DirectoryConfigStore(searchPath: [dir.path])
        #expect(store.integer("databytes") == 1000)
        try dir.write("databytes", "2000\n")
        #expect(store.integer("databytes") == 1000)
        store.reload()
        #expect(store.integer("databytes") == 2000)
    }

    @Test func crlfFilesAreTrimmed() throws {
        let dir = try TemporaryDirectory()
        try dir.write("me", "mx.example\r\n")
        #expect(DirectoryConfigStore(searchPath: [dir.path]).value("me") == "mx.example")
    }

    @Test func inMemoryHelpers() {
        let store = InMemoryConfigStore(["n": ["  42 "], "yes": ["On"], "no": ["off"], "bad": ["x1"]])
        #expect(store.integer("n") == 42)
        #expect(store.integer("bad") == nil)
        #expect(store.flag("yes"))
        #expect(!store.flag("no"))
        #expect(!store.flag("missing"))
    }
}
