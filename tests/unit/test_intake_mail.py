"""parse_email: what a mail holds, and what is refused (naming what is wrong)."""

from __future__ import annotations

import socket

import pytest

from reqfulfill.intake import MAX_EMAIL_SIZE, parse_email
from reqfulfill.intake.text import html_to_text, split_reply
from reqfulfill.model.enums import Channel
from reqfulfill.model.errors import ValidationError

HEAD = b"Message-ID: <a1@mail.example>\r\nFrom: Erin User <Erin.User@Example.com>\r\n"


def mail(body: bytes, headers: bytes = b"", head: bytes = HEAD) -> bytes:
    return head + headers + b"\r\n" + body


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may reach the network: any socket fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parse_email opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_plain_mail() -> None:
    message = parse_email(
        mail(b"My phone is broken.\r\n", b"Subject: =?utf-8?q?Handy_kaputt_=E2=9C=93?=\r\n")
    )
    assert message.message_id == "a1@mail.example"
    assert message.sender == "erin.user@example.com"
    assert message.sender_name == "Erin User"
    assert message.subject == "Handy kaputt \u2713"
    assert message.text == "My phone is broken."
    assert message.channel is Channel.EMAIL
    assert (message.in_reply_to, message.references, message.attachments) == (None, (), ())


def test_reply_headers_name_the_thread() -> None:
    message = parse_email(
        mail(
            b"still broken\r\n",
            b"In-Reply-To: <n2@desk.example>\r\n"
            b"References: <n1@desk.example>\r\n <n2@desk.example> <junk\r\n",
        )
    )
    assert message.in_reply_to == "n2@desk.example"
    assert message.references == ("n1@desk.example", "n2@desk.example")
    assert message.thread == ("n2@desk.example", "n1@desk.example")


def test_quoted_history_and_signature_are_kept_apart() -> None:
    body = (
        b"Please reset my password.\r\n\r\nBest regards,\r\nErin\r\nFinance\r\n\r\n"
        b"On Mon, 2 Mar 2026, Desk <desk@example.com> wrote:\r\n> What is wrong?\r\n"
    )
    message = parse_email(mail(body))
    assert message.text == "Please reset my password."
    assert message.quoted.startswith("Best regards,")
    assert "> What is wrong?" in message.quoted


def test_a_forwarded_message_is_the_request() -> None:
    body = (
        b"FYI, can you do this?\r\n\r\n---------- Forwarded message ---------\r\n"
        b"From: Tom <tom@example.com>\r\nSubject: phone\r\n\r\nPlease order a phone for Lisa.\r\n"
    )
    assert "order a phone for Lisa" in parse_email(mail(body)).text


def test_html_becomes_text_without_scripts_or_remote_content() -> None:
    body = (
        b"<html><head><title>t</title><script>fetch('http://evil.example/x')</script></head>"
        b'<body><p>New <b>laptop</b> please</p><img src="http://tracker.example/p.gif">'
        b"<style>p{color:red}</style><p>Thanks &amp; bye</p></body></html>"
    )
    message = parse_email(mail(body, b"Content-Type: text/html; charset=utf-8\r\n"))
    assert message.text == "New laptop please\n\nThanks & bye"
    assert "fetch" not in message.text + message.quoted
    assert "color" not in message.text + message.quoted


def test_plain_text_is_preferred_and_attachments_are_named_with_their_size() -> None:
    body = (
        b"--XX\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
        b"--XX\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nK\xe4se kaputt\r\n"
        b"--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment;"
        b' filename="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n'
        b"--XX--\r\n"
    )
    message = parse_email(mail(body, b'Content-Type: multipart/mixed; boundary="XX"\r\n'))
    assert message.text == "K\u00e4se kaputt"
    assert [(a.name, a.size) for a in message.attachments] == [("report.pdf", 4)]


def test_eight_bit_headers_and_unknown_charsets_are_read_as_well_as_they_can_be() -> None:
    message = parse_email(
        mail(
            b"\xff\xfe body in an unknown charset\r\n",
            b"Subject: Gr\xc3\xbc\xc3\x9fe \xe9t\xe9 =?x-unknown?q?caf=E9?=\r\n"
            b"Content-Type: text/plain; charset=x-no-such-charset\r\n",
        )
    )
    assert message.subject.startswith("Gr\u00fc\u00dfe \ufffdt\ufffd")
    odd = mail(b"caf\xe9\r\n", b"Content-Type: text/plain; charset=l\x00atin-1\r\n")
    assert parse_email(odd).text == "caf\ufffd"  # a charset name with a NUL: UTF-8
    assert "body in an unknown charset" in message.text
    assert "\x00" not in message.text


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b"From: a@example.com\r\n\r\nno id\r\n", "Message-ID"),
        (b"Message-ID: <>\r\nFrom: a@example.com\r\n\r\nempty id\r\n", "Message-ID"),
        (b"Message-ID: <" + b"x" * 300 + b">\r\nFrom: a@b.c\r\n\r\nlong\r\n", "Message-ID"),
        (b"Message-ID: <a@b>\r\n\r\nno sender\r\n", "From"),
        (b"Message-ID: <a@b>\r\nFrom: nobody\r\n\r\nno address\r\n", "From"),
        (b"", "raw"),
        (b"\r\n\r\n", "raw"),
    ],
)
def test_a_mail_that_cannot_be_received_is_refused_naming_what_is_wrong(
    raw: bytes, path: str
) -> None:
    with pytest.raises(ValidationError) as info:
        parse_email(raw)
    assert info.value.paths[0] == path


def test_the_size_limit_is_ten_megabytes_and_configurable() -> None:
    assert MAX_EMAIL_SIZE == 10 * 1024 * 1024
    raw = mail(b"x" * 2_000)
    assert parse_email(raw, max_size=len(raw)).text.startswith("xx")
    with pytest.raises(ValidationError) as info:
        parse_email(raw, max_size=len(raw) - 1)
    assert info.value.paths == ["raw"]
    assert "over the size limit" in str(info.value)
    with pytest.raises(ValidationError):
        parse_email(b"x" * (MAX_EMAIL_SIZE + 1))


@pytest.mark.parametrize("raw", [None, "text", 3, ["a"]])
def test_anything_but_bytes_is_refused(raw: object) -> None:
    with pytest.raises(ValidationError) as info:
        parse_email(raw)  # type: ignore[arg-type]
    assert info.value.paths == ["raw"]


def test_a_deeply_nested_or_broken_mime_structure_is_read() -> None:
    nested = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(200)
    )
    message = parse_email(HEAD + nested + b"Content-Type: text/plain\r\n\r\ndeep\r\n")
    assert message.message_id == "a1@mail.example"
    broken = mail(b"--nope\r\ngarbage", b'Content-Type: multipart/mixed; boundary="XX"\r\n')
    assert parse_email(broken).sender == "erin.user@example.com"


def test_html_to_text_and_split_reply_take_no_input_as_markup_to_run() -> None:
    assert html_to_text("<script>alert(1)</script><noscript>x</noscript>ok") == "ok"
    assert split_reply("hi\n-- \nErin") == ("hi", "-- \nErin")
    assert split_reply("> only quoted") == ("> only quoted", "")  # all there is


def test_headers_of_megabytes_are_cut_before_they_are_parsed() -> None:
    # the email package parses a header in time quadratic in its length (a 240 KB
    # Content-Type took 5 s of CPU): each header is cut to 32 KB before it is parsed,
    # References keeping its end (the most recent ids)
    big = 1_500_000
    raw = mail(
        b'--XX\r\nContent-Type: text/plain; x="'
        + b"y" * big
        + b'"\r\n\r\nit is broken\r\n--XX--\r\n',
        b"Subject: " + b"phone " * (big // 6) + b"\r\n"
        b"References: " + b"<old@x> " * (big // 8) + b"<last@mail.example>\r\n"
        b'Content-Type: multipart/mixed; boundary=XX; x="' + b"z" * big + b'"\r\n',
    )
    message = parse_email(raw)
    assert 32_000 < len(message.subject) <= 32_768
    assert message.subject.startswith("phone phone")
    assert message.references[-1] == "last@mail.example"
    assert message.text == "it is broken"
