"""Small SMTP clients of the benchmark's own, for what smtp-source cannot measure:
per-message latency on one connection, many idle sessions, one very large message, and a
sanity check. Every client talks to 127.0.0.1 only, and every loop is bounded."""
import asyncio
import resource
import socket
import time

HOST = "127.0.0.1"


class Conn:
    """A blocking SMTP connection that reads whole (multi-line) replies."""

    def __init__(self, port, timeout=60.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def reply(self):
        """Reads one reply; returns (code, last line)."""
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), line

    def cmd(self, text, expect=None):
        self.sock.sendall(text.encode() + b"\r\n")
        code, line = self.reply()
        if expect is not None and code // 100 != expect // 100:
            raise RuntimeError(f"{text!r}: {line!r}")
        return code

    def close(self):
        try:
            self.sock.sendall(b"QUIT\r\n")
            self.reply()
        except (OSError, ConnectionError):
            pass
        self.sock.close()


def message_bytes(size):
    """Headers plus a body of about `size` bytes of 78-octet lines, dot-safe."""
    line = b"x" * 76 + b"\r\n"
    body = line * max(1, size // len(line))
    return (b"From: <bench@test.example>\r\nTo: <rcpt@test.example>\r\n"
            b"Subject: bench\r\n\r\n" + body)


def sanity(port, mail_from, rcpt, other_rcpt):
    """(accepted our domain, refused another domain) for one connection."""
    c = Conn(port, timeout=20)
    c.reply()
    c.cmd("EHLO sanity.bench.client", 250)
    c.cmd(f"MAIL FROM:<{mail_from}>", 250)
    refused = c.cmd(f"RCPT TO:<{other_rcpt}>") >= 500
    c.cmd(f"RCPT TO:<{rcpt}>", 250)
    c.cmd("DATA", 354)
    c.sock.sendall(message_bytes(512) + b".\r\n")
    code, _ = c.reply()
    c.close()
    return code == 250, refused


def latency(port, count, size, mail_from, rcpt):
    """Sends `count` messages one after another on one connection, without pipelining.
    Returns the per-message latencies in ms, MAIL sent to the 250 after the final dot."""
    payload = message_bytes(size) + b".\r\n"
    c = Conn(port)
    c.reply()
    c.cmd("EHLO latency.bench.client", 250)
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        c.cmd(f"MAIL FROM:<{mail_from}>", 250)
        c.cmd(f"RCPT TO:<{rcpt}>", 250)
        c.cmd("DATA", 354)
        c.sock.sendall(payload)
        code, line = c.reply()
        if code != 250:
            raise RuntimeError(f"end of data: {line!r}")
        out.append((time.perf_counter() - t0) * 1000.0)
    c.close()
    return out


def big_message(port, megabytes, mail_from, rcpt):
    """One message of `megabytes` MiB, streamed in 1 MiB writes. Returns (seconds, code)."""
    line = b"y" * 998 + b"\r\n"                  # 1000 octets, the longest line SMTP allows
    chunk = line * 1048                           # about 1 MiB
    c = Conn(port, timeout=300)
    c.reply()
    c.cmd("EHLO big.bench.client", 250)
    t0 = time.perf_counter()
    c.cmd(f"MAIL FROM:<{mail_from}>", 250)
    c.cmd(f"RCPT TO:<{rcpt}>", 250)
    c.cmd("DATA", 354)
    c.sock.sendall(b"Subject: big\r\n\r\n")
    for _ in range(megabytes):
        c.sock.sendall(chunk)
    c.sock.sendall(b".\r\n")
    code, _ = c.reply()
    seconds = time.perf_counter() - t0
    c.close()
    return seconds, code


def hold_idle(port, n, on_held, concurrency=100, step_timeout=60.0, total_timeout=300.0, hold_s=2.0):
    """Opens up to `n` sessions (connect, 220, EHLO, 250) and keeps them open; calls
    on_held() once all are up and `hold_s` has passed, then closes them. Returns
    (established, failed, seconds to establish)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, n + 200):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 200), hard))

    async def read_reply(reader, prefix):
        while True:
            line = await reader.readline()
            if not line.startswith(prefix):
                raise ConnectionError(line[:60])
            if line[3:4] != b"-":
                return

    async def main():
        gate = asyncio.Semaphore(concurrency)
        writers, failed = [], 0

        async def one(i):
            nonlocal failed
            async with gate:
                try:
                    r, w = await asyncio.wait_for(asyncio.open_connection(HOST, port), step_timeout)
                except (OSError, asyncio.TimeoutError):
                    failed += 1
                    return
                try:
                    await asyncio.wait_for(read_reply(r, b"220"), step_timeout)
                    w.write(b"EHLO idle%d.bench.client\r\n" % i)
                    await asyncio.wait_for(read_reply(r, b"250"), step_timeout)
                    writers.append(w)
                except (OSError, ConnectionError, asyncio.TimeoutError):
                    failed += 1
                    w.close()

        t0 = time.perf_counter()
        tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
        _, pending = await asyncio.wait(tasks, timeout=total_timeout)
        for t in pending:
            t.cancel()
        failed += len(pending)
        seconds = time.perf_counter() - t0
        await asyncio.sleep(hold_s)
        on_held()
        for w in writers:
            w.close()
        await asyncio.sleep(0.5)
        return len(writers), failed, seconds

    return asyncio.run(main())


async def reply_code(reader, step_timeout):
    """Reads one SMTP reply (all its continuation lines) from an asyncio stream; returns its code."""
    while True:
        line = await asyncio.wait_for(reader.readline(), step_timeout)
        if len(line) < 4:
            raise ConnectionError(f"short reply line {line!r}")
        if line[3:4] != b"-":
            return int(line[:3])


def dns_mix(port, plan, concurrency=20, step_timeout=30.0):
    """The "dns" scenario's load: one session per (source address, sender) in `plan`, at
    most `concurrency` at a time, each from its own 127.x source address: greeting, EHLO,
    MAIL, RCPT, DATA and a 4 KB message, QUIT; it stops at the first refusal. Returns
    (outcome counts, per-session milliseconds, seconds for all)."""
    payload = message_bytes(4096) + b".\r\n"
    counts = {"refused_connect": 0, "refused_mail": 0, "accepted": 0, "other": 0, "error": 0}

    async def reply(reader):
        return await reply_code(reader, step_timeout)

    async def one(source, sender, gate, times):
        async with gate:
            t0 = time.perf_counter()
            try:
                r, w = await asyncio.wait_for(
                    asyncio.open_connection(HOST, port, local_addr=(source, 0)), step_timeout)
            except (OSError, asyncio.TimeoutError):
                counts["error"] += 1
                return
            try:
                outcome = await session(r, w, sender)
            except (OSError, ConnectionError, asyncio.TimeoutError):
                outcome = "error"
            finally:
                w.close()
            counts[outcome] += 1
            times.append((time.perf_counter() - t0) * 1000.0)

    async def session(r, w, sender):
        if await reply(r) != 220:
            return "refused_connect"
        for line, want in ((b"EHLO dns.bench.client", 250), (f"MAIL FROM:<{sender}>".encode(), 250),
                           (b"RCPT TO:<rcpt@test.example>", 250), (b"DATA", 354)):
            w.write(line + b"\r\n")
            code = await reply(r)
            if code != want:
                return "refused_mail" if line.startswith(b"MAIL") and code >= 400 else "other"
        w.write(payload)
        code = await reply(r)
        w.write(b"QUIT\r\n")
        try:
            await reply(r)
        except (OSError, ConnectionError):
            pass
        return "accepted" if code == 250 else "other"

    async def main():
        gate = asyncio.Semaphore(concurrency)
        times = []
        t0 = time.perf_counter()
        await asyncio.gather(*(one(src, snd, gate, times) for src, snd in plan))
        return times, time.perf_counter() - t0

    times, seconds = asyncio.run(main())
    return counts, times, seconds


def dot_stuffed(message):
    """The message as DATA carries it: CRLF lines, a leading dot doubled, the final dot line."""
    lines = message.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n" for ln in lines) + b".\r\n"


def one_message(port, message, mail_from, rcpt, timeout=120.0):
    """Sends one message on a connection of its own; returns (code, reply line) after the dot."""
    c = Conn(port, timeout=timeout)
    c.reply()
    c.cmd("EHLO check.bench.client", 250)
    c.cmd(f"MAIL FROM:<{mail_from}>", 250)
    c.cmd(f"RCPT TO:<{rcpt}>", 250)
    c.cmd("DATA", 354)
    c.sock.sendall(dot_stuffed(message))
    code, line = c.reply()
    c.close()
    return code, line.decode(errors="replace")


def message_batch(port, messages, concurrency, mail_from, rcpt, step_timeout=120.0):
    """Sends `messages` (bytes each) over `concurrency` connections, each reusing its connection
    for the messages it takes from a shared list, without pipelining. Returns (accepted, other
    replies {code: count}, errors, per-message ms from MAIL to the reply after the dot)."""
    todo = list(enumerate(messages))
    todo.reverse()
    counts = {"accepted": 0, "errors": 0}
    others = {}
    times = []

    async def reply(reader):
        return await reply_code(reader, step_timeout)

    async def worker(i):
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(HOST, port), step_timeout)
        except (OSError, asyncio.TimeoutError):
            counts["errors"] += 1
            return
        try:
            if await reply(r) != 220:
                raise ConnectionError("no greeting")
            w.write(b"EHLO batch%d.bench.client\r\n" % i)
            if await reply(r) != 250:
                raise ConnectionError("EHLO refused")
            while todo:
                _, msg = todo.pop()
                t0 = time.perf_counter()
                code = 0
                for line, want in ((f"MAIL FROM:<{mail_from}>".encode(), 250),
                                   (f"RCPT TO:<{rcpt}>".encode(), 250), (b"DATA", 354)):
                    w.write(line + b"\r\n")
                    code = await reply(r)
                    if code != want:
                        break
                else:
                    w.write(dot_stuffed(msg))
                    code = await reply(r)
                if code == 250:
                    counts["accepted"] += 1
                    times.append((time.perf_counter() - t0) * 1000.0)
                else:
                    others[code] = others.get(code, 0) + 1
                    w.write(b"RSET\r\n")
                    await reply(r)
            w.write(b"QUIT\r\n")
            await reply(r)
        except (OSError, ConnectionError, asyncio.TimeoutError):
            counts["errors"] += 1
        finally:
            w.close()

    async def main():
        await asyncio.gather(*(worker(i) for i in range(concurrency)))

    asyncio.run(main())
    return counts["accepted"], others, counts["errors"] + len(todo), times
