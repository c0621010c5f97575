"""Properties of the suggester and of mail parsing, over generated text and catalogs."""

from __future__ import annotations

import hypothesis
from hypothesis import given
from hypothesis import strategies as st

from reqfulfill.intake import Suggester, parse_email
from reqfulfill.intake.text import split_reply
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.errors import ValidationError
from reqfulfill.testing import demo_catalog
from reqfulfill.testing.strategies import catalogs

WORDS = ["phone", "password", "crm", "access", "broken", "laptop", "Passwort", "pasword", "the"]
texts = st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=12).map(" ".join)


@given(catalog=catalogs(), text=texts, k=st.integers(1, 6))
def test_suggestions_are_catalog_items_with_a_confidence_between_0_and_1(
    catalog: Catalog, text: str, k: int
) -> None:
    found = Suggester(catalog).suggest(text, k=k)
    assert len(found) <= k
    assert len({s.item for s in found}) == len(found)
    for suggestion in found:
        assert catalog.has_item(suggestion.item)
        assert 0.0 <= suggestion.confidence <= 1.0
        assert suggestion.score > 0
        assert suggestion.terms  # some word of the text led to it
    assert sum(s.confidence for s in found) <= 1.0 + 1e-9
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)


@given(text=texts)
def test_suggesting_is_deterministic(text: str) -> None:
    first = Suggester(demo_catalog()).suggest(text)
    assert Suggester(demo_catalog()).suggest(text) == first
    assert Suggester(demo_catalog()).suggest(text) == first


@given(text=texts, extra=st.sampled_from(WORDS))
def test_the_top_suggestion_of_k_is_the_top_of_one(text: str, extra: str) -> None:
    suggester = Suggester(demo_catalog())
    assert suggester.suggest(text, k=1) == suggester.suggest(text, k=3)[:1]


@given(text=st.text(max_size=300))
def test_split_reply_loses_no_line(text: str) -> None:
    new, rest = split_reply(text)
    kept = [line.strip() for line in (new + "\n" + rest).split("\n") if line.strip()]
    assert kept == [line.strip() for line in text.split("\n") if line.strip()]


@hypothesis.settings(max_examples=300)
@given(raw=st.binary(max_size=400) | texts.map(lambda t: t.encode()))
def test_parse_email_reads_or_refuses_with_a_validation_error(raw: bytes) -> None:
    try:
        message = parse_email(b"Message-ID: <a@b>\r\nFrom: a@b.example\r\n" + raw)
    except ValidationError:
        return
    assert message.message_id
    assert "\x00" not in message.text
