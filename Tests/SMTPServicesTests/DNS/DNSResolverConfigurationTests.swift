import NIOCore
import SMTPPluginAPI
import SMTPServices
import Testing

@Suite struct DNSResolverConfigurationTests {
    @Test func resolvConfServersAndOptions() {
        let configuration = DNSResolverConfiguration.fromResolvConf("""
            # comment
            search example.com
            nameserver 192.0.2.53
            nameserver 2001:db8::53
            ; another comment
            options rotate timeout:3 attempts:4
            """)
        #expect(configuration.servers == [try! SocketAddress(ipAddress: "192.0.2.53", port: 53), try! SocketAddress(ipAddress: "2001:db8::53", port: 53)])
        #expect(configuration.tryTimeout == .seconds(3))
        #expect(configuration.attempts == 4)
        #expect(configuration.timeout == .seconds(5))
    }

    @Test func glibcCapsOptions() {
        let configuration = DNSResolverConfiguration.fromResolvConf("options timeout:99 attempts:9\n")
        #expect(configuration.tryTimeout == .seconds(30))
        #expect(configuration.attempts == 5)
    }

    @Test func serverAddressForms() {
        #expect(DNSResolverConfiguration.serverAddress("127.0.0.1") == (try! SocketAddress(ipAddress: "127.0.0.1", port: 53)))
        #expect(DNSResolverConfiguration.serverAddress("127.0.0.1:5353") == (try! SocketAddress(ipAddress: "127.0.0.1", port: 5353)))
        #expect(DNSResolverConfiguration.serverAddress("[::1]:5353") == (try! SocketAddress(ipAddress: "::1", port: 5353)))
        #expect(DNSResolverConfiguration.serverAddress("::1") == (try! SocketAddress(ipAddress: "::1", port: 53)))
        for bad in ["dns.example", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "[::1]x", "1.2.3.4:x", ""] {
            #expect(DNSResolverConfiguration.serverAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func configFilesOverrideResolvConf() {
        let config = InMemoryConfigStore(["dns_servers": ["127.0.0.1:5353", "[::1]:5353"], "dns_timeout": ["2.5"]])
        let (configuration, problems) = DNSResolverConfiguration.load(config: config, resolvConf: "nameserver 192.0.2.1\noptions attempts:3\n")
        #expect(problems.isEmpty)
        #expect(configuration.servers == [try! SocketAddress(ipAddress: "127.0.0.1", port: 5353), try! SocketAddress(ipAddress: "::1", port: 5353)])
        #expect(configuration.timeout == .milliseconds(2500))
        #expect(configuration.attempts == 3)
    }

    @Test func noServerAnywhereMeansLocalHost() {
        let (configuration, problems) = DNSResolverConfiguration.load(config: InMemoryConfigStore(), resolvConf: nil)
        #expect(problems.isEmpty)
        #expect(configuration.servers == [try! SocketAddress(ipAddress: "127.0.0.1", port: 53)])
    }

    @Test func badLinesAreNamed() {
        let config = InMemoryConfigStore(["dns_servers": ["127.0.0.1", "resolver.example"], "dns_timeout": ["soon"]])
        let (_, problems) = DNSResolverConfiguration.load(config: config, resolvConf: nil)
        #expect(problems.map(\.line) == [2, 1])
        #expect(problems[0].message.contains("resolver.example"))
        #expect(problems[1].message.contains("dns_timeout"))
    }
}
