"""The mailers: chosen by HARKEN_MAILER, and the SMTP one speaking real SMTP over TCP to a small
server that keeps what it is sent."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import pytest

from harken.centre import mail


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    received: list[bytes]

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.strip().upper()
            if command.startswith(b"EHLO"):
                self.wfile.write(b"250 test\r\n")
            elif command.startswith((b"MAIL", b"RCPT")):
                self.wfile.write(b"250 ok\r\n")
            elif command == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                body = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    body += chunk
                self.received.append(body)
                self.wfile.write(b"250 queued\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 not here\r\n")


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[bytes]]]:
    received: list[bytes] = []
    handler = type("Handler", (_Smtp,), {"received": received})
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server.server_address[1], received
        server.shutdown()


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "hub@example.com", "lena@example.com", "Sign in"
    message.set_content("http://127.0.0.1:8000/centre/link/abc\n")
    return message


def test_smtp_delivers_the_message(smtp_server: tuple[int, list[bytes]]) -> None:
    port, received = smtp_server
    mailer = mail.from_setting(f"smtp://127.0.0.1:{port}")
    assert isinstance(mailer, mail.SmtpMailer)
    mailer.send(_message())
    delivered = message_from_bytes(received[0])
    assert delivered["To"] == "lena@example.com"
    assert "/centre/link/abc" in delivered.get_payload()


def test_a_directory_keeps_one_whole_file_per_message(tmp_path: Path) -> None:
    mailer = mail.from_setting(f"directory:{tmp_path / 'mail'}")
    mailer.send(_message())
    mailer.send(_message())
    files = sorted((tmp_path / "mail").iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" and not f.name.startswith(".") for f in files)
    assert message_from_bytes(files[0].read_bytes())["Subject"] == "Sign in"


def test_the_setting_names_a_mailer_or_is_refused() -> None:
    assert isinstance(mail.from_setting("console"), mail.ConsoleMailer)
    starttls = mail.from_setting("smtp+starttls://mail.example.com:587")
    assert isinstance(starttls, mail.SmtpMailer) and starttls.starttls and starttls.port == 587
    for wrong in ("", "carrier-pigeon", "smtp://", "http://mail.example.com"):
        with pytest.raises(ValueError, match="HARKEN_MAILER"):
            mail.from_setting(wrong)
