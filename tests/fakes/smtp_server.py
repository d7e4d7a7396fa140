"""A tiny SMTP server on loopback (enough of RFC 5321 for smtplib): stores messages, can refuse recipients."""

from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes
from email.message import Message


class FakeSmtp:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()  # recipient addresses answered 550
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write((line + "\r\n").encode())
                self.wfile.flush()

            def handle(self) -> None:
                self.reply("220 fake-smtp ready")
                sender, rcpts = "", []
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    cmd = raw.decode("latin-1").strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 fake-smtp")
                    elif verb == "MAIL":
                        sender, rcpts = cmd.split(":", 1)[1].strip().strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        addr = cmd.split(":", 1)[1].strip().strip("<>")
                        if addr in fake.refuse:
                            self.reply("550 no such user")
                        else:
                            rcpts.append(addr)
                            self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        lines = []
                        while True:
                            line = self.rfile.readline()
                            if line in (b".\r\n", b".\n", b""):
                                break
                            lines.append(line[1:] if line.startswith(b"..") else line)
                        fake.messages.append(message_from_bytes(b"".join(lines)))
                        fake.envelopes.append((sender, rcpts))
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    else:
                        self.reply("502 not implemented")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
