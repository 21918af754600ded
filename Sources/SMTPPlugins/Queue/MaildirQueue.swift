#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SMTPCore
public import SMTPPluginAPI
import Synchronization

/// `queue/maildir dir [subdir-pattern] [octal mode]`: delivers into a Maildir. Without a pattern,
/// one copy goes to `dir`; with one (`%l` local part, `%d` domain, `%u` address), one copy per
/// recipient goes to `dir/<pattern>`. Each copy is written to `tmp/`, synced, and linked into
/// `new/`, whose directory is synced too, before we answer 250.
public struct MaildirQueue: SMTPPlugin {
    private let directory: String
    private let subdirPattern: String?
    private let directoryMode: mode_t
    private let logger: Logger
    private let blocking: any BlockingWorkRunner
    private let uniqueHost: String
    private let syncers = DirectorySyncs()
    private static let deliveries = Atomic<Int>(0)

    /// Which step failed, for the reply and the log.
    struct DeliveryError: Error {
        var step: String
        var path: String
        var code: Int32
    }

    public init(context: PluginContext) throws {
        guard let directory = context.arguments.positional(0) else {
            throw PluginArgumentError("the Maildir directory is missing")
        }
        self.directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        if let pattern = context.arguments.positional(1) {
            guard pattern.contains("%l") || pattern.contains("%d") || pattern.contains("%u") else {
                throw PluginArgumentError("subdir pattern '\(pattern)' has none of %l, %d, %u")
            }
            subdirPattern = pattern
        } else {
            subdirPattern = nil
        }
        if let word = context.arguments.positional(2) {
            guard let mode = UInt16(word, radix: 8), mode <= 0o777, word.allSatisfy({ ("0"..."7").contains($0) }) else {
                throw PluginArgumentError("mode must be octal, such as 700, not '\(word)'")
            }
            directoryMode = mode_t(mode)
        } else {
            directoryMode = 0o700
        }
        logger = context.logger
        blocking = context.services.blocking
        uniqueHost = Self.maildirHostName()
        if subdirPattern == nil {
            do {
                try Self.makeMaildir(self.directory, mode: directoryMode)
            } catch {
                // Not fatal: the directory may appear later (a mount); until then deliveries answer 451.
                context.logger.error("cannot create Maildir \(self.directory): \(error.step) \(error.path): errno \(error.code)")
            }
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onQueue { _, transaction in
            let sender = transaction.sender?.formatted ?? "<>"
            let recipients = transaction.recipients
            let header = transaction.header
            let body = transaction.body
            do {
                try await blocking.run {
                    if let subdirPattern {
                        // One copy per recipient. A failure after some copies were delivered still
                        // answers 451, so a retry duplicates those copies (qpsmtpd does the same).
                        for recipient in recipients {
                            let maildir = directory + "/" + Self.expand(subdirPattern, for: recipient)
                            try Self.makeMaildir(maildir, mode: directoryMode)
                            try deliver(Self.envelopeHeader(header, sender: sender, recipients: [recipient]), body, into: maildir)
                        }
                    } else {
                        try deliver(Self.envelopeHeader(header, sender: sender, recipients: recipients), body, into: directory)
                    }
                }
            } catch let error as DeliveryError {
                logger.error("queue error: \(error.step) \(error.path): errno \(error.code)")
                // qpsmtpd answers DECLINED here, which reaches the client as a vague 451 "queuing
                // declined"; saying which step failed helps whoever reads the client's logs.
                return .denySoft("4.3.0 queue error (\(error.step))")
            } catch {
                // The blocking runner itself failed (shutting down, cancelled).
                logger.error("queue error: \(error)")
                return .denySoft("4.3.0 queue error")
            }
            let messageID = header.value(of: "Message-Id") ?? ""
            return .ok(messageID.isEmpty ? "Queued!" : "Queued! \(messageID)")
        }
    }

    /// Return-Path, then one Delivered-To per recipient in envelope order (qpsmtpd adds one per
    /// recipient too), each in RFC 5321 form so a quoted local part stays quoted.
    static func envelopeHeader(_ header: MessageHeader, sender: String, recipients: [Mailbox]) -> MessageHeader {
        var header = header
        for recipient in recipients.reversed() { header.prepend("Delivered-To", recipient.quotedAddress) }
        header.prepend("Return-Path", sender)
        return header
    }

    /// Writes one copy into `maildir/tmp`, syncs it, moves it to `maildir/new` and syncs that directory.
    private func deliver(_ header: MessageHeader, _ body: SpooledMessage?, into maildir: String) throws {
        let name = uniqueName()
        let tmpPath = maildir + "/tmp/" + name
        let newPath = maildir + "/new/" + name
        let fd = open(tmpPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, directoryMode & 0o666)
        guard fd >= 0 else { throw DeliveryError(step: "open", path: tmpPath, code: errno) }
        var isOpen = true
        var isInTmp = true
        defer {
            if isOpen { close(fd) }
            if isInTmp { unlink(tmpPath) }
        }
        // The configured mode, whatever the process umask is (umask is per process, not per thread).
        fchmod(fd, directoryMode & 0o666)
        do {
            // Collect small pieces into one write: most messages then cost a single write(2).
            var pending: [UInt8] = []
            pending.reserveCapacity(min((body?.size ?? 0) + 4096, 262_144))
            try MessageWriter.write(header: header, body: body, lineEnding: .lf) { piece in
                if pending.count + piece.count > 262_144 {
                    try pending.withUnsafeBytes { try Self.writeAll(fd, $0, path: tmpPath) }
                    pending.removeAll(keepingCapacity: true)
                }
                pending.append(contentsOf: piece)
            }
            try pending.withUnsafeBytes { try Self.writeAll(fd, $0, path: tmpPath) }
        } catch let error as DeliveryError {
            throw error
        } catch {
            throw DeliveryError(step: "read", path: "spool", code: 0)
        }
        guard fsync(fd) == 0 else { throw DeliveryError(step: "fsync", path: tmpPath, code: errno) }
        isOpen = false
        guard close(fd) == 0 else { throw DeliveryError(step: "close", path: tmpPath, code: errno) }
        // link() refuses to replace an existing file, which rename() would do silently; file
        // systems without hard links get rename().
        if link(tmpPath, newPath) == 0 {
            unlink(tmpPath)
        } else if errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP {
            guard rename(tmpPath, newPath) == 0 else { throw DeliveryError(step: "rename", path: newPath, code: errno) }
        } else {
            throw DeliveryError(step: "link", path: newPath, code: errno)
        }
        isInTmp = false
        let result = syncers.syncer(for: maildir + "/new").sync()
        guard result == 0 else { throw DeliveryError(step: "fsync", path: maildir + "/new", code: result) }
    }


    /// `<seconds>.P<pid>M<microseconds>Q<n>.<host>`: unique per process by the counter, across
    /// processes by the pid, across machines by the host.
    private func uniqueName() -> String {
        var now = timeval()
        gettimeofday(&now, nil)
        let n = Self.deliveries.add(1, ordering: .relaxed).newValue
        return "\(now.tv_sec).P\(getpid())M\(now.tv_usec)Q\(n).\(uniqueHost)"
    }

    /// The host name with `/` and `:` escaped as the Maildir specification asks.
    private static func maildirHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let name =
            gethostname(&buffer, buffer.count - 1) == 0
            ? String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "localhost"
        return name.reduce(into: "") { out, c in
            switch c {
            case "/": out += "\\057"
            case ":": out += "\\072"
            default: out.append(c)
            }
        }
    }

    /// The pattern with `%l`, `%d`, `%u` replaced by the recipient's parts, each reduced to
    /// characters that are safe in a file name.
    static func expand(_ pattern: String, for recipient: Mailbox) -> String {
        var out = ""
        var chars = pattern.makeIterator()
        while let c = chars.next() {
            guard c == "%" else {
                out.append(c)
                continue
            }
            switch chars.next() {
            case "l": out += safe(recipient.localPart)
            case "d": out += safe(recipient.domain)
            case "u": out += safe(recipient.address)
            case let other?: out += "%" + String(other)
            case nil: out += "%"
            }
        }
        return out
    }

    private static func safe(_ value: String) -> String {
        let cleaned = String(value.map { c -> Character in
            switch c {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "+", "_", ".", ",", "@", "=": return c
            default: return "_"
            }
        })
        // `.` and `..` would name this directory or its parent.
        return cleaned.allSatisfy { $0 == "." } ? String(repeating: "_", count: cleaned.count) : cleaned
    }

    /// Creates `path` and its `tmp`, `new` and `cur`, with parents, like `mkdir -p`.
    static func makeMaildir(_ path: String, mode: mode_t) throws(DeliveryError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            try makeDirectory(prefix, mode: mode)
        }
        for sub in ["tmp", "new", "cur"] {
            try makeDirectory(path + "/" + sub, mode: mode)
        }
    }

    private static func makeDirectory(_ path: String, mode: mode_t) throws(DeliveryError) {
        if mkdir(path, mode) == 0 {
            chmod(path, mode)  // mkdir's mode is reduced by the umask
            return
        }
        let code = errno
        var info = stat()
        guard code == EEXIST, stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DeliveryError(step: "mkdir", path: path, code: code)
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(DeliveryError) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw DeliveryError(step: "write", path: path, code: errno)
            }
            offset += n
        }
    }
}
