"""A local SMTP sink for the benches: accepts every message on 127.0.0.1 and appends one JSON
line per message (recipients, subject, time) to a file, so a bench can count what was really
delivered, duplicates included.

    python bench/smtp_fake.py PORT OUT.jsonl
"""

import email.parser
import json
import socketserver
import sys
import threading
import time

LOCK = threading.Lock()


class Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.reply("220 bench SMTP fake")
        recipients = []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 bench")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>").lower())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with .")
                chunks = []
                while True:
                    chunk = self.rfile.readline()
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    chunks.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                headers = email.parser.BytesHeaderParser().parsebytes(b"".join(chunks))
                with LOCK, open(self.server.out, "a") as out:
                    out.write(
                        json.dumps(
                            {
                                "to": recipients,
                                "subject": str(headers.get("Subject", "")),
                                "at": time.time(),
                            }
                        )
                        + "\n"
                    )
                recipients = []
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # RSET, NOOP and anything else
                self.reply("250 OK")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    server.out = sys.argv[2]
    server.serve_forever()
