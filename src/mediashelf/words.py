"""Search words and tags: how names and tags are folded for searching, sorting and filtering.

Folding happens here, in Python, once per write and once per query, so both databases index
and compare the same words: SQLite's FTS5 and PostgreSQL's full-text search then only split on
spaces. A word is a run of letters and digits (any script), accents removed, case folded:
`Café Terrace.jpg` is `cafe terrace jpg`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from mediashelf.errors import BadRequest, shown

TAG_MAX, TAGS_MAX = 64, 32
_WORD = re.compile(r"[^\W_]+")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_QUERY_WORDS = 16  # more words than this in one query add nothing but cost


def fold(text: str) -> str:
    """Lower case, accents removed, compatibility forms unified (ﬁ → fi, ① → 1)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The searchable words of a text, folded, in order."""
    return _WORD.findall(fold(text))


def search_text(name: str | None, tags: Iterable[str]) -> str:
    """The document an asset is found by: the words of its name and of its tags."""
    return " ".join([*words(name or ""), *(w for t in tags for w in words(t))])


def name_key(name: str | None) -> str:
    """What `sort=name` orders by: the folded name, so case and accents do not split it."""
    return fold(name or "")[:256]


def query_words(q: str) -> tuple[str, ...]:
    """The distinct words of a search, in order (at most 16): each matches as a word prefix."""
    return tuple(dict.fromkeys(words(q)))[:_QUERY_WORDS]


def check_tag(raw: object, what: str = "a tag") -> str:
    """One tag as stored (trimmed, lower case), or BadRequest saying what is wrong."""
    if not isinstance(raw, str):
        raise BadRequest(f"{what} must be a string")
    if _CONTROLS.search(raw):
        raise BadRequest(f"{what} must not contain control characters")
    tag = raw.strip().lower()
    if not 1 <= len(tag) <= TAG_MAX:
        raise BadRequest(f"{what} must be 1 to {TAG_MAX} characters, not '{shown(raw)}'")
    if "," in tag:
        raise BadRequest(f"{what} must not contain a comma: '{shown(raw)}'")
    return tag


def check_tags(raw: object, what: str = "'tags'") -> list[str]:
    """A set of tags as stored: checked one by one, repeats dropped, sorted, at most 32."""
    if not isinstance(raw, list):
        raise BadRequest(f"{what} must be an array of strings")
    tags = sorted({check_tag(t, f"each of {what}") for t in raw})
    if len(tags) > TAGS_MAX:
        raise BadRequest(f"{what} holds {len(tags)} distinct tags: at most {TAGS_MAX} are allowed")
    return tags


def split_tags(field: str) -> list[str]:
    """Tags from a comma-separated form field (empty items ignored)."""
    return check_tags([t for t in field.split(",") if t.strip()], "the 'tags' field")
