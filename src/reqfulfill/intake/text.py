"""Text from mail bodies: HTML turned into text, the reply history and the signature
split off, and the words a suggester compares (Unicode-aware, stemmed where the
``intake`` extra brings ``snowballstemmer``).

Nothing here loads anything: the HTML parser of the standard library reads the markup
as text, ``<script>`` and ``<style>`` contents are dropped, and no URL is followed.
Every pattern is linear (no nested repetition), on lines of bounded length.
"""

from __future__ import annotations

import html.parser
import re
import unicodedata
from collections.abc import Callable, Iterable

__all__ = [
    "STOPWORDS",
    "Stemmer",
    "clean_text",
    "html_to_text",
    "split_reply",
    "stemmer_for",
    "word_forms",
    "words",
]

_WORD = re.compile(r"[^\W_]+")
"""A run of letters and digits in any script (``\\w`` without the underscore)."""

_LINE_LIMIT = 2_000
"""Lines longer than this are cut before a marker is looked for in them."""

_STOPWORDS_TEXT = """
a about above after again all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for
from further had has have having he her here hers him his how i if in into is it its
just me more most my myself no nor not now of off on once only or other our ours out
over own same she should so some such than that the their them then there these they
this those through to too under until up very was we were what when where which
while who whom why will with would you your yours hi hello hey dear thanks thank
please pls regards best kind cheers team get got need needs needed want would like
could help hallo danke bitte gruss gruß grüße viele liebe der die das ein eine einen
und oder ich mein meine mir mich ist nicht mit für von zu im auf bonjour merci je
mon ma mes le la les un une et est pour pas avec de du des svp hola gracias por
favor el los las re fw fwd aw wg tr
"""

STOPWORDS: frozenset[str] = frozenset(_STOPWORDS_TEXT.split())
"""Words too common in requests to say which item is meant (English, some German,
French and Spanish, and reply prefixes)."""

_SIGNATURE_START = re.compile(
    r"^(?:-- ?|--|__+|sent from my \w[\w ]{0,40}|von meinem \w[\w ]{0,40} gesendet"
    r"|envoyé de mon \w[\w ]{0,40}|get outlook for \w+)$",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^(?:(?:best|kind|warm|many thanks and)? ?regards|thanks(?: again| a lot)?|thank you"
    r"|cheers|br|mfg|mit freundlichen gr(?:ü|ue)(?:ß|ss)en|viele gr(?:ü|ue)(?:ß|ss)e|lg"
    r"|gr(?:ü|ue)(?:ß|ss)e|cordialement|bien à vous|saludos|best)[,.!]?$",
    re.IGNORECASE,
)
_HISTORY_START = re.compile(
    r"^(?:-{2,} ?original message ?-{2,}|-{2,} ?ursprüngliche nachricht ?-{2,}"
    r"|-{2,} ?message d'origine ?-{2,}"
    r"|on .{1,200} wrote:|am .{1,200} schrieb .{1,200}:|le .{1,200} a écrit ?:"
    r"|from: .{1,200}|von: .{1,200}|de ?: .{1,200})$",
    re.IGNORECASE,
)
_FORWARD = re.compile(
    r"^-{2,} ?(?:forwarded message|weitergeleitete nachricht|message transféré) ?-{2,}$",
    re.IGNORECASE,
)
_CLOSING_TAIL = 6
"""A closing line ("Best regards,") starts the signature when at most this many
non-empty lines follow it."""


def clean_text(text: str) -> str:
    """``text`` without NUL and other control characters (tabs and line breaks kept),
    lone surrogates replaced, line breaks normalised."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t" or (code >= 32 and code != 127 and not 0xD800 <= code <= 0xDFFF):
            out.append(ch)
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")
    return "".join(out)


class _TextOf(html.parser.HTMLParser):
    """Collects an HTML document's text; script and style contents are skipped."""

    _SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
    _BREAK = frozenset(
        {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The text of an HTML body: tags dropped, entities decoded, ``<script>`` and
    ``<style>`` contents left out; nothing is fetched or run.

    >>> html_to_text("<p>Hi<script>alert(1)</script></p><p>my &amp; phone</p>")
    'Hi\\n\\nmy & phone'
    """
    parser = _TextOf()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def split_reply(text: str) -> tuple[str, str]:
    """``(new, rest)``: what the sender wrote, and the quoted history and signature
    after it (the usual markers: ``> `` quotes, "On ... wrote:", "-----Original
    Message-----", Outlook's "From:" block, "-- ", "Sent from my ...", a closing
    such as "Best regards," near the end). A forwarded message is kept: it is
    usually the request.

    >>> split_reply("New laptop please\\n\\nThanks,\\nErin\\n\\nOn Mon, Bob wrote:\\n> hi")
    ('New laptop please', 'Thanks,\\nErin\\n\\nOn Mon, Bob wrote:\\n> hi')
    """
    lines = text.split("\n")
    cut = len(lines)
    forwarded = False
    for index, line in enumerate(lines):
        probe = line.strip()[:_LINE_LIMIT]
        if _FORWARD.match(probe):
            forwarded = True
            continue
        if forwarded:
            continue  # a forwarded message's own headers and history are the request
        if probe.startswith(">") or _HISTORY_START.match(probe) or _SIGNATURE_START.match(probe):
            cut = index
            break
        if _CLOSING.match(probe):
            tail = [rest for rest in lines[index + 1 : cut] if rest.strip()]
            if len(tail) <= _CLOSING_TAIL:
                cut = index
                break
    new = "\n".join(lines[:cut]).strip()
    rest = "\n".join(lines[cut:]).strip()
    if not new and rest:
        # all of it looked like history (a bare forward): the text is all there is
        return rest, ""
    return new, rest


_STEM_CACHE = 100_000
"""Stems kept per language, at most (then the cache starts afresh)."""

_STEMS: dict[str, dict[str, str]] = {}
"""Per language, word -> stem: the stems met so far."""

Stemmer = Callable[[str], str]
"""Maps a word to its stem."""


def stemmer_for(language: str) -> Stemmer:
    """The ``snowballstemmer`` stemmer of ``language`` where the ``intake`` extra is
    installed and knows it; else words stay as they are."""
    try:
        import snowballstemmer  # type: ignore[import-untyped]  # the ``intake`` extra
    except ImportError:
        return _same
    if language not in snowballstemmer.algorithms():
        return _same
    stem: Callable[[str], str] = snowballstemmer.stemmer(language).stemWord
    # shared by the stemmers of a language: a suggester built again for a changed
    # catalog stems only the words it has not seen
    known = _STEMS.setdefault(language, {})

    def cached(word: str) -> str:
        # the stemmer is pure Python (tens of microseconds a word); a catalog and its
        # mail use the same few thousand words again and again
        found = known.get(word)
        if found is None:
            if len(known) >= _STEM_CACHE:
                known.clear()
            found = known[word] = stem(word)
        return found

    return cached


def _same(word: str) -> str:
    return word


def words(text: str, stem: Stemmer, *, stopwords: Iterable[str] = STOPWORDS) -> list[str]:
    """The stemmed words of ``text``: case folded, accents kept, stop words and single
    letters left out.

    >>> words("The iPhone's screen is broken!", _same)
    ['iphone', 'screen', 'broken']
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    drop = stopwords if isinstance(stopwords, frozenset) else frozenset(stopwords)
    return [stem(w) for w in _WORD.findall(folded) if w not in drop and (len(w) > 1 or w.isdigit())]


def word_forms(
    text: str, stem: Stemmer, *, stopwords: Iterable[str] = STOPWORDS
) -> list[tuple[str, str]]:
    """``(word as written, case folded; its stem)`` for each word :func:`words` keeps.

    >>> word_forms("Phones!", lambda w: w.rstrip("s"))
    [('phones', 'phone')]
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    drop = stopwords if isinstance(stopwords, frozenset) else frozenset(stopwords)
    return [
        (w, stem(w)) for w in _WORD.findall(folded) if w not in drop and (len(w) > 1 or w.isdigit())
    ]
