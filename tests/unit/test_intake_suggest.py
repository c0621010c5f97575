"""The suggester: catalog items for free text, with confidence and terms; its evaluation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest

from reqfulfill.intake import Reranker, Suggester, Suggestion, evaluate, read_labelled
from reqfulfill.intake.text import stemmer_for, words
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.errors import ValidationError
from reqfulfill.testing import demo_catalog

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "intake"


@pytest.fixture(scope="module")
def intake_catalog() -> Catalog:
    return Catalog.from_toml(EXAMPLES / "catalog.toml")


def test_the_best_item_comes_first_with_the_words_that_led_to_it() -> None:
    found = Suggester(demo_catalog()).suggest("I forgot my password, I'm locked out")
    assert found[0].item == "password-reset"
    assert found[0].terms == ("forgot", "locked", "password")
    assert found[0].confidence > 0.9


def test_keywords_carry_the_words_users_write(intake_catalog: Catalog) -> None:
    suggester = Suggester(intake_catalog)
    assert suggester.suggest("mein Diensthandy ist kaputt")[0].item == "iphone-15"
    assert suggester.suggest("need a second screen")[0].item == "monitor"


def test_a_typing_slip_still_matches(intake_catalog: Catalog) -> None:
    top = Suggester(intake_catalog).suggest("my pasword expired")[0]
    assert (top.item, top.terms) == ("password-reset", ("expired", "pasword"))


def test_text_that_matches_nothing_gets_no_suggestion(intake_catalog: Catalog) -> None:
    suggester = Suggester(intake_catalog)
    assert suggester.suggest("") == []
    assert suggester.suggest("Is the canteen open on the public holiday?") == []
    assert suggester.suggest("the the and of") == []


def test_stemming_follows_the_catalog_language() -> None:
    english = stemmer_for("english")
    assert words("Phones", english) == words("phone", english)
    assert stemmer_for("klingon")("phones") == "phones"  # no stemmer: words as written


def test_the_language_can_be_set_in_the_catalog() -> None:
    data = attrs.evolve(demo_catalog()).to_dict()
    data["intake"] = {"language": "german"}
    catalog = Catalog.from_dict(data)
    assert catalog.intake.language == "german"
    assert Suggester(catalog).suggest("Passwörter")[0].item == "password-reset"


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [({"text": 3}, "text"), ({"text": "x", "k": 0}, "k"), ({"text": "x", "k": True}, "k")],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        Suggester(demo_catalog()).suggest(**kwargs)  # type: ignore[arg-type]
    assert info.value.paths == [path]


def test_a_suggester_needs_a_catalog_and_a_reranker_that_is_one() -> None:
    with pytest.raises(ValidationError) as info:
        Suggester({"items": []})  # type: ignore[arg-type]
    assert info.value.paths == ["catalog"]
    with pytest.raises(ValidationError) as info:
        Suggester(demo_catalog(), reranker=object())  # type: ignore[arg-type]
    assert info.value.paths == ["reranker"]


class _Reverse:
    """A reranker that puts the last candidate first."""

    def rerank(self, text: str, candidates: Sequence[Suggestion]) -> list[Suggestion]:
        return list(reversed(candidates))


def test_a_reranker_reorders_the_candidates(intake_catalog: Catalog) -> None:
    plain = Suggester(intake_catalog).suggest("new laptop and a monitor", k=10)
    assert isinstance(_Reverse(), Reranker)
    reranked = Suggester(intake_catalog, reranker=_Reverse()).suggest(
        "new laptop and a monitor", k=10
    )
    assert [s.item for s in reranked] == [s.item for s in reversed(plain)]


def test_the_shipped_labelled_set_meets_the_targets(intake_catalog: Catalog) -> None:
    messages = read_labelled(EXAMPLES / "labelled.jsonl")
    assert len(messages) >= 150
    result = evaluate(Suggester(intake_catalog), messages)
    assert result.precision_at_1 >= 0.85
    assert result.precision_at_3 >= 0.95
    recommended = next(row for row in result.thresholds if row.threshold == 0.85)
    assert recommended.wrong < 0.02
    assert recommended.auto > 0.5  # the threshold still does most of the work


def test_a_labelled_file_with_bad_lines_names_each(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    lines = ['{"text": "ok", "item": null}', "not json", '{"text": 3, "item": "x"}', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_labelled(path)
    assert info.value.paths == ["line 2", "line 3"]


def test_an_evaluation_refuses_items_the_catalog_lacks(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text(json.dumps({"text": "x", "item": "no-such-item"}), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        evaluate(Suggester(demo_catalog()), read_labelled(path))
    assert "no-such-item" in str(info.value)
