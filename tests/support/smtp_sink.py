"""A local SMTP server for dondoc's e-mail tests (aiosmtpd, pinned and installed by the test
harness): every message it accepts is decoded with Python's e-mail parser and appended to a
file as one JSON line — envelope, headers decoded from RFC 2047, body decoded from its
transfer encoding — so a test reads exactly what a recipient's mail client would show.

Usage: python3 smtp_sink.py OUT_FILE. Prints "ready PORT" once listening on 127.0.0.1.
"""

import json
import socket
import sys
import time
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "content_type": message.get_content_type(),
            "charset": body.get_content_charset() if body else None,
            "body": body.get_content() if body else "",
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    out = sys.argv[1]
    port = free_port()
    controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"ready {port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
