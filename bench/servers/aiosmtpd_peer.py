#!/usr/bin/env python3
"""aiosmtpd as a benchmark peer: one asyncio process that accepts mail for one domain and
stores each message in a Maildir with the standard library (no fsync, like the Perl
qpsmtpd's queue/maildir). RCPT to any other domain is refused with 550.

usage: aiosmtpd_peer.py PORT MAILDIR DOMAIN
"""
import asyncio
import mailbox
import signal
import sys

from aiosmtpd.smtp import SMTP


class ToMaildir:
    def __init__(self, path, domain):
        self.box = mailbox.Maildir(path, factory=None, create=True)
        self.domain = domain.lower()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.rpartition("@")[2].lower() != self.domain:
            return "550 5.7.1 Relaying denied"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.box.add(envelope.original_content)
        return "250 Queued"


async def serve(port, path, domain):
    loop = asyncio.get_running_loop()
    handler = ToMaildir(path, domain)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="bench.test.example", data_size_limit=0),
        host="127.0.0.1", port=port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"aiosmtpd listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
