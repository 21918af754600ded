import Logging
public import SMTPPluginAPI

/// `quit_fortune [PATH]`: answers QUIT from a client that greeted with HELO (one that speaks
/// EHLO is taken to be a program with no use for it) with `221 <me> closing connection.` and a
/// short fortune, each line as `  / line`. Without the program (`/usr/games/fortune`, or PATH)
/// or when it fails, the usual goodbye is sent.
public struct QuitFortune: SMTPPlugin {
    private let program: String

    public init(context: PluginContext) throws {
        let words = context.arguments.words
        guard words.count <= 1 else {
            throw PluginArgumentError("quit_fortune takes at most the path of fortune, not '\(words.joined(separator: " "))'")
        }
        program = words.first ?? "/usr/games/fortune"
        guard program.hasPrefix("/") else {
            throw PluginArgumentError("the path of fortune must be absolute, not '\(program)'")
        }
    }

    public func register(into hooks: inout HookRegistry) {
        hooks.onQuit { context in
            guard context.connection.hello == .helo else { return .declined }
            let invocation = ProgramInvocation(program, arguments: ["-s"], captureOutput: true, captureLimit: 4096)
            guard let result = try? await context.services.programs.run(invocation, deadline: context.deadline - HookContext.answerMargin),
                result.termination == .exited(0), let output = result.output, !output.isEmpty
            else {
                context.logger.debug("no fortune from \(program)")
                return .declined
            }
            let lines = String(decoding: output, as: UTF8.self)
                .split(separator: "\n", omittingEmptySubsequences: false)
                .map { "  / " + $0.filter { $0 != "\r" && $0 != "\t" } }
            let trimmed = lines.last == "  / " ? Array(lines.dropLast()) : lines
            return .done(SMTPReply(code: 221, enhancedCode: .ok, lines: ["\(context.services.hostName) closing connection."] + trimmed))
        }
    }
}
