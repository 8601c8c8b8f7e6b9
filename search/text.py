"""German text handling shared by every search backend.

The rules are chosen so that Elasticsearch can reproduce them with built-in analysis
components (the Elasticsearch backend must keep them in step):

* ``fold`` = ``lowercase`` + ``asciifolding`` + ``german_normalization``: lower case,
  diacritics stripped (``é`` -> ``e``, ``ä`` -> ``a``), ``ß`` -> ``ss`` and Lucene's
  ``GermanNormalizationFilter`` state machine (``ae``/``oe`` -> ``a``/``o``; ``ue`` -> ``u``
  unless it follows a vowel or ``q``: ``Mueller`` -> ``muller``, ``Quelle`` and ``Feuer``
  stay). ``Straße``/``Strasse``/``STRASSE`` all fold to ``strasse``.
* ``words``: folded text split on every character that is not a letter or a digit
  (Elasticsearch: a ``pattern`` tokenizer on ``[^\\p{L}\\p{N}]+`` before the filters).
* ``index_tokens``: the words plus the dictionary parts of every word of five or more
  characters, exactly as Lucene's ``DictionaryCompoundWordTokenFilter`` with
  ``min_word_size=5``, ``min_subword_size=3``, ``max_subword_size=15``,
  ``only_longest_match=false`` and the word list ``data/decompound_words.txt``
  (Elasticsearch: ``dictionary_decompounder`` after the filters, index side only).
* ``query_terms`` / ``matches``: every folded query word must be a prefix of one of the
  document's index tokens (``Demenz`` finds ``Demenzcafé`` by prefix and
  ``Seniorendemenzgruppe`` by its dictionary part ``demenz``).
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable
from importlib import resources

MIN_WORD_SIZE = 5
MIN_SUBWORD_SIZE = 3
MAX_SUBWORD_SIZE = 15

# Letters that NFKD does not decompose but ASCII folding maps (the German ones first).
_SPECIAL = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ł": "l",
    "ı": "i",
    "ŀ": "l",
    "ħ": "h",
    "ŧ": "t",
}


def _slow_fold_char(c: str) -> str:
    c = c.translate(_SPECIAL_TABLE)
    c = unicodedata.normalize("NFKD", c)
    c = "".join(x for x in c if not unicodedata.combining(x))
    return c.lower().translate(_SPECIAL_TABLE)


_SPECIAL_TABLE = str.maketrans(_SPECIAL)
# Fast path: the folded form of every lower-case Latin-1/Latin Extended-A letter, so that
# ordinary German text never needs the (slower) NFKD pass.
_LATIN_TABLE = str.maketrans(
    {chr(cp): _slow_fold_char(chr(cp)) for cp in range(0xC0, 0x250) if chr(cp).lower() == chr(cp)}
)

_WORD_RE = re.compile(r"[^\W_]+")


# An "e" is dropped after "a"/"o", or after a "u" that does not follow a/o/u/e/i/q/y (the
# state only depends on the input characters, so look-behinds express it exactly).
_GERMAN_E = re.compile(r"(?<=[ao])e|(?<=^u)e|(?<=[^aoueiqy]u)e")


def _german_normalize(s: str) -> str:
    if "e" not in s:
        return s
    return _GERMAN_E.sub("", s)


@functools.lru_cache(maxsize=65536)
def _fold_cached(s: str) -> str:
    s = s.lower()
    if not s.isascii():
        s = s.translate(_LATIN_TABLE)
        if not s.isascii():
            s = unicodedata.normalize("NFKD", s.translate(_SPECIAL_TABLE))
            s = "".join(c for c in s if not unicodedata.combining(c))
            s = s.lower().translate(_SPECIAL_TABLE)  # NFKD may give capitals ("ℌ" -> "H")
    return _german_normalize(s)


def fold(s: str) -> str:
    """Lower case, diacritics stripped, ``ß`` -> ``ss``, German ``ae/oe/ue`` normalised."""
    if len(s) > 200:  # long descriptions: do not fill the cache with them
        return _fold_cached.__wrapped__(s)
    return _fold_cached(s)


def words(s: str) -> list[str]:
    """Folded words of ``s`` (split on everything that is not a letter or digit)."""
    return _WORD_RE.findall(fold(s))


def _load_dictionary() -> frozenset[str]:
    text = resources.files("directory_search").joinpath("data/decompound_words.txt")
    entries = set()
    for line in text.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entries.add(line)
    return frozenset(entries)


DICTIONARY: frozenset[str] = _load_dictionary()
_DICT_LENGTHS = tuple(
    sorted({len(w) for w in DICTIONARY if MIN_SUBWORD_SIZE <= len(w) <= MAX_SUBWORD_SIZE})
)


@functools.lru_cache(maxsize=262144)
def subwords(word: str) -> tuple[str, ...]:
    """Dictionary parts of one folded word (Lucene DictionaryCompoundWordTokenFilter,
    ``only_longest_match=false``), in the order the filter emits them; empty for words
    shorter than ``MIN_WORD_SIZE``. A part may equal the whole word."""
    n = len(word)
    if n < MIN_WORD_SIZE:
        return ()
    found: list[str] = []
    for i in range(n - MIN_SUBWORD_SIZE + 1):
        for j in _DICT_LENGTHS:
            if i + j > n:
                break
            part = word[i : i + j]
            if part in DICTIONARY:
                found.append(part)
    return tuple(found)


def _text_tokens(text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for word in words(text):
        seen[word] = None
        for part in subwords(word):
            seen[part] = None
    return tuple(seen)


# Tokens of short texts (titles, labels, carrier names repeat a lot); a plain dict is
# cheaper than lru_cache here, and is simply emptied when it grows too large.
_TEXT_CACHE: dict[str, tuple[str, ...]] = {}
_TEXT_CACHE_MAX = 100_000
_TEXT_CACHE_MAX_LEN = 200


def _token_parts(texts: Iterable[str]) -> list[tuple[str, ...]]:
    cache = _TEXT_CACHE
    parts = []
    for text in texts:
        if not text:
            continue
        tokens = cache.get(text)
        if tokens is None:
            tokens = _text_tokens(text)
            if len(text) <= _TEXT_CACHE_MAX_LEN:
                if len(cache) >= _TEXT_CACHE_MAX:
                    cache.clear()
                cache[text] = tokens
        parts.append(tokens)
    return parts


def index_token_list(texts: Iterable[str]) -> list[str]:
    """Index tokens in order of first appearance, without repeats."""
    parts = _token_parts(texts)
    if len(parts) == 1:
        return list(parts[0])
    return list(dict.fromkeys(itertools.chain.from_iterable(parts)))


def index_token_string(texts: Iterable[str]) -> str:
    """``" ".join(index_token_list(texts))``, a little faster (bulk indexing)."""
    parts = _token_parts(texts)
    if len(parts) == 1:
        return " ".join(parts[0])
    return " ".join(dict.fromkeys(itertools.chain.from_iterable(parts)))


def index_tokens(texts: Iterable[str]) -> set[str]:
    """The folded words of ``texts`` plus the dictionary parts of the longer ones."""
    return set(index_token_list(texts))


def query_terms(text: str | None) -> list[str]:
    """The folded words of a query, without empties and repeats (order kept)."""
    if not text:
        return []
    return list(dict.fromkeys(words(text)))


def matches(doc_tokens: Iterable[str], terms: Iterable[str]) -> bool:
    """True when every term is a prefix of some document token."""
    tokens = (
        doc_tokens if isinstance(doc_tokens, list | tuple | set | frozenset) else list(doc_tokens)
    )
    return all(any(token.startswith(term) for token in tokens) for term in terms)
