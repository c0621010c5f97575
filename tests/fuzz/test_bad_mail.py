"""Malformed mail: parse_email and receive read it or refuse it with a ValidationError
naming what is wrong, and a refusal writes nothing (a short run of ``fuzz/fuzz_mail.py``'s
target)."""

from __future__ import annotations

from _oracle import check_refusal
from _targets import MAIL_SEEDS, receive_mail
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TOKENS = [b"\r\n", b"=?", b"?=", b"<", b">", b"--XX", b"\xff", b"\x00", b": ", b"\r\n\r\n", b"="]


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(MAIL_SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.integers(0, 3))
        if kind == 0:
            data[at:at] = draw(st.sampled_from(TOKENS) | st.binary(max_size=6))
        elif kind == 1:
            del data[at : at + draw(st.integers(1, 30))]
        elif kind == 2 and at < len(data):
            data[at] = draw(st.integers(0, 255))
        else:
            data[at:] = b""
    return bytes(data)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(raw=mutated_mail() | st.binary(max_size=200))
def test_a_mangled_mail_is_read_or_refused_with_nothing_written(raw: bytes) -> None:
    check_refusal(lambda: receive_mail(raw))


def test_the_seeds_are_read() -> None:
    for raw in MAIL_SEEDS:
        receive_mail(raw)
