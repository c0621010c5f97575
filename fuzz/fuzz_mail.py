"""Long fuzzing runs of mail intake: ``parse_email`` and ``service.receive`` (outside CI).

The oracle is the test suite's (``tests/fuzz/_oracle.py``): a mail is read, or refused
with a ``ValidationError`` whose problems name what is wrong, a refusal writes nothing,
and nothing else is ever raised. Realistic mails (``_targets.MAIL_SEEDS``) are mutated
at random: bytes replaced, cut, dropped, MIME and encoded-word tokens inserted::

    python fuzz/fuzz_mail.py --runs 100000 --seed 1

Prints the inputs tried and every distinct untyped exception with one input that raised it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fuzz"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _targets import MAIL_SEEDS, receive_mail, run_one
from fuzz_config import Report

TOKENS = [
    b"\r\n",
    b"=?utf-8?b?",
    b"=?x-unknown?q?",
    b"?=",
    b"<",
    b">",
    b"--XX",
    b"--XX--",
    b"\xff\xfe",
    b"\x00",
    b": ",
    b"\r\n\r\n",
    b"Content-Type: multipart/mixed; boundary=XX\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Type: text/html; charset=utf-7\r\n",
    b"Message-ID: <dup@x>\r\n",
    b"From: \r\n",
]


def mutate(content: bytes, rng: random.Random) -> bytes:
    data = bytearray(content)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        if not data or choice < 0.1:
            data[rng.randint(0, len(data)) :] = b""
        elif choice < 0.45:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.8:
            at = rng.randint(0, len(data))
            data[at:at] = rng.choice(TOKENS)
        else:
            at = rng.randrange(len(data))
            del data[at : at + rng.randint(1, 40)]
    return bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    report = Report()
    started = time.monotonic()
    for _ in range(args.runs):
        raw = mutate(rng.choice(MAIL_SEEDS), rng)
        report.record(run_one(lambda raw=raw: receive_mail(raw)), repr(raw[:300]))
    report.print(time.monotonic() - started)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
