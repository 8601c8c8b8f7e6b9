"""The forgiving part of text search, done once in Python before any backend is asked.

``QueryExpander.expand`` turns the words of a query into groups of alternatives
(``base.TextMatch``) against the index's own vocabulary (``SearchBackend.vocabulary()``),
so every backend matches the same expanded query and the conformance suite can hold them
to one answer. For each folded query word (``text.query_terms``), in this order:

1. **phrases and synonyms**: the longest run of words (up to four) that is a key of the
   synonym table adds its synonyms as alternatives (``Essen auf Rädern`` ->
   ``mahlzeitendienst``); a synonym is kept only if each of its words is found in the
   vocabulary.
2. **joined words**: two neighbours that are one word in the index (``Senioren Büro`` ->
   ``seniorenburo``) may match as that word.
3. **exact**: a word that is a prefix of some index token matches as typed (every word is a
   prefix, so the last one may be unfinished). A word found exactly gets no corrections:
   corrected matches never outrank or crowd out exact ones.
4. otherwise **spelling variants** (``kaffee``/``cafe``), the **German Snowball stem**
   (``Begegnungsstätten`` -> ``begegnungsstatt``), **compound parts**: two parts (the
   linking ``s``/``es``/``n`` dropped from the first) that are both whole index tokens or
   have synonyms there (``Einkaufshilfe`` -> ``einkauf`` + ``hilfe``; every split point is
   tried, see docs/decisions.md on why not hyphenation points), and
   **typo corrections**: index tokens, or their prefixes, within the edit distance
   Meilisearch allows by default (none below 5 letters, 1 from 5, 2 from 9; a swap of
   two neighbours is one edit) and with the same first letter (as Lucene's spell
   checkers); for the last word, which may be unfinished, prefixes of index tokens too;
   the closest first, at most ``MAX_CORRECTIONS``; none for a word that has synonyms.
5. the word as typed always stays the first alternative; a word that finds nothing
   else stays alone (the query then finds nothing: an honest empty answer, not an
   unrelated one).

Words of ``stopwords.txt`` (``für``, ``Senioren``: every offer here is for older people)
are dropped when other words remain (after phrases and joined words are found).
``corrected`` in the result is the query with each typo-corrected or respelled word
replaced by its best correction (for "Did you mean").
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

from .base import SearchBackend, SearchQuery, SearchResult, TextMatch
from .text import fold, query_terms, words

ONE_TYPO_FROM = 5  # letters
TWO_TYPOS_FROM = 9
MAX_CORRECTIONS = 3
MAX_PHRASE = 4  # words of the longest synonym key
MIN_PART = 3  # letters of a compound part
LINKING = ("es", "s", "n")  # Fugenelemente dropped from the left part of a compound

# Letter groups spelled either way in German (folded forms, see ``text.fold``).
VARIANTS: tuple[tuple[str, str], ...] = (
    ("kaffee", "cafe"),
    ("cafe", "kaffee"),
    ("ph", "f"),
    ("f", "ph"),
    ("th", "t"),
    ("c", "k"),
    ("k", "c"),
    ("c", "z"),
    ("z", "c"),
    ("y", "i"),
    ("i", "y"),
)


class SynonymError(ValueError):
    """A synonym rule that cannot be read; the message names where it came from."""


@dataclass
class Synonyms:
    """A synonym table: folded phrase (words joined by a space) -> folded phrases.

    Rules use the Solr format, one per line: ``a, b, c`` makes the phrases equivalent,
    ``a, b => c, d`` makes ``a`` and ``b`` also find ``c`` and ``d`` (one way). ``#``
    starts a comment."""

    table: dict[str, list[str]] = field(default_factory=dict)

    def add_rule(self, rule: str, where: str = "synonym rule") -> None:
        text = rule.split("#", 1)[0].strip()
        if not text:
            return
        if text.count("=>") > 1:
            raise SynonymError(f"{where}: more than one '=>' in {rule!r}")
        if "=>" in text:
            left, right = (self._phrases(side, rule, where) for side in text.split("=>"))
            for phrase in left:
                self._add(phrase, right)
        else:
            phrases = self._phrases(text, rule, where)
            if len(phrases) < 2:
                raise SynonymError(f"{where}: {rule!r} needs two phrases separated by ','")
            for phrase in phrases:
                self._add(phrase, [p for p in phrases if p != phrase])

    def add_rules(self, rules: Iterable[str], where: str) -> None:
        for number, rule in enumerate(rules, start=1):
            self.add_rule(rule, f"{where}, rule {number}")

    @staticmethod
    def _phrases(side: str, rule: str, where: str) -> list[str]:
        phrases = [" ".join(words(p)) for p in side.split(",")]
        if not all(phrases):
            raise SynonymError(f"{where}: empty phrase in {rule!r}")
        if any(len(p.split()) > MAX_PHRASE for p in phrases):
            raise SynonymError(f"{where}: a phrase of {rule!r} has more than {MAX_PHRASE} words")
        return phrases

    def _add(self, phrase: str, targets: list[str]) -> None:
        known = self.table.setdefault(phrase, [])
        known.extend(t for t in targets if t not in known and t != phrase)

    def get(self, phrase: str) -> list[str]:
        return self.table.get(phrase, [])


def _data_lines(name: str) -> list[str]:
    path = resources.files("directory_search").joinpath(f"data/{name}")
    return path.read_text(encoding="utf-8").splitlines()


@functools.lru_cache(maxsize=1)
def shipped_synonyms() -> tuple[str, ...]:
    """The curated rules shipped in ``data/synonyms.txt``."""
    return tuple(_data_lines("synonyms.txt"))


@functools.lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(
        w for line in _data_lines("stopwords.txt") for w in words(line.split("#", 1)[0])
    )


@functools.lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("german")


def max_typos(word: str) -> int:
    n = len(word)
    return 2 if n >= TWO_TYPOS_FROM else 1 if n >= ONE_TYPO_FROM else 0


class Vocabulary:
    """Index tokens with their document counts, searchable by prefix and by edit distance."""

    def __init__(self, counts: Mapping[str, int]):
        self.counts = dict(counts)
        self.sorted = sorted(self.counts)
        # corrections keep the first letter (Lucene's spell checkers do the same): the
        # candidates of a word are the tokens of its first letter only
        self._by_first: dict[str, list[str]] = {}
        for token in self.sorted:
            self._by_first.setdefault(token[0], []).append(token)

    def has_prefix(self, term: str) -> bool:
        i = bisect.bisect_left(self.sorted, term)
        return i < len(self.sorted) and self.sorted[i].startswith(term)

    def corrections(self, word: str, unfinished: bool = False) -> list[str]:
        """Index tokens within ``max_typos(word)`` edits that start with the same letter,
        closest first (then whole tokens, then more documents, then alphabetical). With
        ``unfinished`` (the last word, maybe still being typed) token prefixes of the
        word's length count too."""
        k = max_typos(word)
        if k == 0 or not word:
            return []
        n = len(word)
        bucket = self._by_first.get(word[0], [])
        candidates = {t for t in bucket if n - k <= len(t) <= n + k}
        if unfinished:
            candidates.update(t[:n] for t in bucket if len(t) > n)
        found = process.extract(
            word, list(candidates), scorer=OSA.distance, score_cutoff=k, limit=None
        )
        best = {candidate: distance for candidate, distance, _ in found}

        def rank(c: str) -> tuple:
            return (best[c], c not in self.counts, -self.counts.get(c, 0), c)

        return sorted(best, key=rank)[:MAX_CORRECTIONS]


@dataclass(frozen=True)
class Expansion:
    """An expanded query text: the groups to match and the corrected text (if any)."""

    match: TextMatch
    corrected: str | None = None


class QueryExpander:
    """Expands query texts with a synonym table (see the module docstring)."""

    def __init__(self, synonyms: Synonyms | None = None):
        if synonyms is None:
            synonyms = Synonyms()
            synonyms.add_rules(shipped_synonyms(), "directory_search/data/synonyms.txt")
        self.synonyms = synonyms

    def expand(self, text: str | None, vocabulary: Vocabulary) -> Expansion:
        terms = query_terms(text)
        stop = stopwords()
        droppable = any(t not in stop for t in terms)
        groups: list[tuple[tuple[str, ...], ...]] = []
        shown: list[str] = []
        corrected = False
        i = 0
        while i < len(terms):
            size, phrase_alts = self._phrase(terms, i, vocabulary)
            word = terms[i]
            alts: list[tuple[str, ...]] = []
            if size > 1:
                phrase = tuple(terms[i : i + size])
                if all(vocabulary.has_prefix(t) for t in phrase):
                    alts.append(phrase)
                alts.extend(phrase_alts)
                groups.append(_unique(alts) or (phrase,))
                shown.extend(phrase)
                i += size
                continue
            nxt = terms[i + 1] if i + 1 < len(terms) else None
            if (
                nxt is not None
                and min(len(word), len(nxt)) >= MIN_PART
                and vocabulary.has_prefix(word + nxt)
            ):
                joined = [(word + nxt,)]
                if vocabulary.has_prefix(word) and vocabulary.has_prefix(nxt):
                    joined.append((word, nxt))
                groups.append(tuple(joined))
                shown.extend((word, nxt))
                i += 2
                continue
            if droppable and word in stop:
                i += 1
                continue
            last = i == len(terms) - 1
            alts, best = self.word_alternatives(word, vocabulary, phrase_alts, last)
            if best is not None:
                corrected = True
            shown.append(f"{word}\0{best}" if best else word)
            groups.append(alts)
            i += 1
        if not corrected:
            return Expansion(tuple(groups))
        return Expansion(tuple(groups), " ".join(_as_typed(w, text or "") for w in shown))

    def _phrase(
        self, terms: list[str], i: int, vocabulary: Vocabulary
    ) -> tuple[int, list[tuple[str, ...]]]:
        """The longest synonym key starting at ``terms[i]``: its length and its synonyms
        that the vocabulary holds (length 1 and ``[]`` when there is none)."""
        for size in range(min(MAX_PHRASE, len(terms) - i), 0, -1):
            targets = self.synonyms.get(" ".join(terms[i : i + size]))
            if targets:
                return size, self._known(targets, vocabulary)
        return 1, []

    @staticmethod
    def _known(phrases: Iterable[str], vocabulary: Vocabulary) -> list[tuple[str, ...]]:
        return [
            tuple(p.split()) for p in phrases if all(vocabulary.has_prefix(w) for w in p.split())
        ]

    def word_alternatives(
        self,
        word: str,
        vocabulary: Vocabulary,
        synonyms: list[tuple[str, ...]],
        unfinished: bool = False,
    ) -> tuple[tuple[tuple[str, ...], ...], str | None]:
        """Alternatives for one folded word and its best correction (``None`` when the word
        was found as typed or only through synonyms or compound parts). ``unfinished``:
        the last word of the query, whose typos may be in a prefix of an index token."""
        if vocabulary.has_prefix(word):
            return _unique([(word,), *synonyms]), None
        # the word as typed stays an alternative: it matches nothing in the vocabulary,
        # but may match an offer indexed since the vocabulary was read
        alts = [(word,), *synonyms]
        best = None
        for variant in _variants(word):
            if vocabulary.has_prefix(variant):
                alts.append((variant,))
                best = best or variant
        stem = _stemmer().stemWord(word)
        if len(stem) >= ONE_TYPO_FROM - 1 and stem != word and vocabulary.has_prefix(stem):
            alts.append((stem,))
        alts.extend(self._compound(word, vocabulary))
        # a word with synonyms is a known word of the domain, not a typo
        typos = [] if synonyms else vocabulary.corrections(word, unfinished)
        alts.extend((t,) for t in typos)
        if best is None and typos:
            best = typos[0]
        return _unique(alts), best

    def _part(self, part: str, vocabulary: Vocabulary) -> list[tuple[str, ...]]:
        """A compound part matches as a whole index token (a prefix would let
        ``Schlüsseldienst`` find ``Schlüsselhinterlegung``) or through its synonyms; a
        stopword part (``Senioren`` in ``Seniorencafé``) matches anything."""
        if part in stopwords():
            return [()]
        found = [(part,)] if part in vocabulary.counts else []
        return found + self._known(self.synonyms.get(part), vocabulary)

    def _compound(self, word: str, vocabulary: Vocabulary) -> list[tuple[str, ...]]:
        """Two-part splits where both parts are index tokens (or have synonyms there)."""
        out: list[tuple[str, ...]] = []
        for pos in range(MIN_PART, len(word) - MIN_PART + 1):
            left, right = word[:pos], word[pos:]
            if len(right) < MIN_PART:
                continue
            rights = self._part(right, vocabulary)
            if not rights:
                continue
            lefts: list[tuple[str, ...]] = []
            for cut in ("", *LINKING):
                stem = left[: len(left) - len(cut)] if cut and left.endswith(cut) else left
                if (cut and stem == left) or len(stem) < MIN_PART:
                    continue
                lefts.extend(self._part(stem, vocabulary))
            out.extend(a + b for a in _unique(lefts) for b in rights if a + b)
        return out


_RAW_WORD = re.compile(r"[^\W_]+")


def _as_typed(shown: str, text: str) -> str:
    """A word of the corrected text as the user typed it; a correction (``typed\\0best``)
    capitalised like the typed word."""
    typed, _, best = shown.partition("\0")
    raw = {fold(w): w for w in _RAW_WORD.findall(text)}
    original = raw.get(typed, typed)
    if not best:
        return original
    return best.capitalize() if original[:1].isupper() else best


def _variants(word: str) -> list[str]:
    """The word with one letter group respelled (each place on its own: ``komputerkurs``
    -> ``computerkurs``, not ``computercurs``), and with all of them respelled."""
    out = []
    for a, b in VARIANTS:
        start = word.find(a)
        while start >= 0:
            out.append(word[:start] + b + word[start + len(a) :])
            start = word.find(a, start + 1)
        if word.count(a) > 1:
            out.append(word.replace(a, b))
    return list(dict.fromkeys(out))


def _unique(alts: Iterable[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    return tuple(dict.fromkeys(alts))


_VOCABULARIES: weakref.WeakKeyDictionary[SearchBackend, tuple[dict[str, int], Vocabulary]] = (
    weakref.WeakKeyDictionary()
)


def vocabulary_of(backend: SearchBackend) -> Vocabulary:
    """``backend.vocabulary()`` as a ``Vocabulary``, rebuilt only when the backend hands
    out a new mapping (backends cache theirs until the index changes)."""
    counts = backend.vocabulary()
    cached = _VOCABULARIES.get(backend)
    if cached is not None and cached[0] is counts:
        return cached[1]
    vocabulary = Vocabulary(counts)
    _VOCABULARIES[backend] = (counts, vocabulary)
    return vocabulary


def forgiving_search(
    backend: SearchBackend,
    query: SearchQuery,
    expander: QueryExpander,
) -> SearchResult:
    """Expand ``query.text`` against ``backend``'s vocabulary and search ``backend`` with
    it; the result carries ``corrected`` when a word was corrected. A query that already
    has ``match``, or a backend without ``vocabulary()``, is searched as it is."""
    search = backend.search
    if not query.text or query.match is not None:
        return search(query)
    try:
        vocabulary = vocabulary_of(backend)
    except NotImplementedError:  # a backend without vocabulary(): the plain search
        return search(query)
    expansion = expander.expand(query.text, vocabulary)
    result = search(dataclasses.replace(query, match=expansion.match))
    result.corrected = expansion.corrected
    return result
