"""Unit tests of the German text rules shared by every search backend."""

from __future__ import annotations

import random
from importlib import resources

import pytest
from directory_search import text
from directory_search.text import fold, index_tokens, matches, query_terms, subwords, words


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Straße", "strasse"),
        ("Strasse", "strasse"),
        ("STRASSE", "strasse"),
        ("STRAẞE", "strasse"),  # capital sharp s
        ("Fußpflege", "fusspflege"),
        ("Fusspflege", "fusspflege"),
        ("Müller", "muller"),
        ("Mueller", "muller"),
        ("MÜLLER", "muller"),
        ("Demenzcafé", "demenzcafe"),
        ("Angehörige", "angehorige"),
        ("Begegnungsstätte", "begegnungsstatte"),
        ("Böhm", "bohm"),
        ("Boehm", "bohm"),
        ("Kaelte", "kalte"),
        ("Quelle", "quelle"),  # "ue" after "q" stays
        ("Feuer", "feuer"),  # ... and after a vowel (Lucene's rule)
        ("Bauer", "bauer"),
        ("Frauen", "frauen"),
        ("Übung", "ubung"),
        ("Uebung", "ubung"),
        ("Çiğdem Öztürk", "cigdem ozturk"),
        ("Crème brûlée", "creme brulee"),
        ("Œuvre", "ouvre"),  # asciifolding gives "oe", then "oe" -> "o"
        ("Ærø", "aro"),
        ("Łódź", "lodz"),
        ("ﬁtness", "fitness"),  # ligature via NFKD
        ("", ""),
    ],
)
def test_fold(raw, folded):
    assert fold(raw) == folded


def test_fold_keeps_non_latin_scripts_lowercased():
    assert fold("Консультация") == "консультация"
    assert fold("ΣΟΦΙΑ") == "σοφια"


def test_fold_long_text_equals_word_by_word():
    long = "Die Begegnungsstätte an der Straße bietet Fußpflege und ein Demenzcafé. " * 10
    assert len(long) > 200  # the uncached path
    assert fold(long).split() == [fold(w) for w in long.split()]


def test_german_normalization_regex_equals_state_machine():
    rng = random.Random(7)
    alphabet = "aoueiqyxbn -1"
    for _ in range(20000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        assert text._german_normalize(s) == _german_normalize_fsm(s), s


def test_words_split_on_non_alphanumerics():
    assert words("Fußpflege-Dienst, 24h-Service / Café_Treff!") == [
        "fusspflege",
        "dienst",
        "24h",
        "service",
        "cafe",
        "treff",
    ]
    assert words("  ") == []
    assert words("Türkçe ve Almanca") == ["turkce", "ve", "almanca"]


def _dictionary_lines() -> list[str]:
    path = resources.files("directory_search").joinpath("data/decompound_words.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_word_list_is_folded_and_rich():
    lines = _dictionary_lines()
    assert len(lines) >= 300
    assert len(lines) == len(set(lines)), "duplicates in the word list"
    for line in lines:
        assert line == line.strip()
        assert fold(line) == line, f"{line!r} is not folded"
        assert words(line) == [line], f"{line!r} is not one word"
        assert 3 <= len(line) <= 15, line
    required = (
        "demenz cafe gruppe senioren pflege beratung dienst hilfe angehorige begegnung treff "
        "wohnung anpassung fuss sport gymnastik kochen mittag tisch essen besuch fahr hausnot "
        "ruf vorsorge vollmacht betreuung nachbarschaft ehrenamt kultur musik tanz chor "
        "computer internet sprech stunde garten strasse"
    ).split()
    missing = [w for w in required if w not in lines]
    assert not missing
    assert text.DICTIONARY == frozenset(lines)


def _lucene_decompose(word: str, dictionary: frozenset[str]) -> list[str]:
    """DictionaryCompoundWordTokenFilter.decompose, only_longest_match=false."""
    out = []
    if len(word) < 5:
        return out
    for i in range(len(word) - 3 + 1):
        for j in range(3, 15 + 1):
            if i + j > len(word):
                break
            if word[i : i + j] in dictionary:
                out.append(word[i : i + j])
    return out


def test_subwords_follow_lucene_dictionary_decompounder():
    rng = random.Random(3)
    parts = sorted(text.DICTIONARY)
    for _ in range(2000):
        word = "".join(rng.choice(parts) for _ in range(rng.randrange(1, 4)))
        word += rng.choice(["", "n", "s", "en", "x"])
        assert list(subwords(word)) == _lucene_decompose(word, text.DICTIONARY), word


def test_subwords_examples():
    assert {"senioren", "demenz", "gruppe"} <= set(subwords("seniorendemenzgruppe"))
    assert "ruf" in subwords("hausnotruf")  # three letters is the minimum part
    assert subwords("tanz") == ()  # words below five letters are not split
    assert subwords("demenz") == ("demenz",)  # a part may be the whole word


def test_index_tokens():
    tokens = index_tokens(["Seniorendemenzgruppe im Begegnungszentrum", "Fußpflege-Dienst"])
    assert {"seniorendemenzgruppe", "senioren", "demenz", "gruppe", "im"} <= tokens
    assert {"begegnungszentrum", "begegnung", "zentrum", "fusspflege", "fuss", "pflege"} <= tokens
    assert {"dienst"} <= tokens
    assert all(t == fold(t) for t in tokens)
    assert index_tokens([]) == set()
    assert index_tokens(["", "  "]) == set()


def test_index_token_list_is_ordered_and_unique():
    tokens = text.index_token_list(["Demenz Demenzcafé", "demenz"])
    assert tokens == ["demenz", "demenzcafe", "cafe"]


def test_query_terms():
    assert query_terms("Demenz  demenz, CAFÉ!") == ["demenz", "cafe"]
    assert query_terms("") == []
    assert query_terms(None) == []
    assert query_terms(" -- ") == []
    assert query_terms("Straße") == query_terms("STRASSE") == ["strasse"]


@pytest.mark.parametrize(
    ("doc", "query", "expected"),
    [
        ("Demenzcafé Hörde", "demenz", True),
        ("Seniorendemenzgruppe", "demenz", True),
        ("Seniorendemenzgruppe", "Gruppe", True),
        ("Seniorendemenzgruppe", "grup", True),  # prefix of a part
        ("Seniorendemenzgruppe", "endemenz", False),  # not a prefix of any token
        ("Begegnungsstätte an der Straße", "Strasse", True),
        ("Begegnungsstätte an der Strasse", "straße", True),
        ("Begegnungsstätte an der Straße", "STRASSE begegnung", True),
        ("Fußpflege-Dienst", "Fusspflege", True),
        ("Fußpflege-Dienst", "fuß dienst", True),
        ("Fußpflege-Dienst", "pflege", True),  # dictionary part
        ("Fußpflege-Dienst", "fusspflege hausbesuch", False),  # every term must match
        ("Herr Müller", "mueller", True),
        ("Herr Mueller", "Müller", True),
        ("Herr Müller", "mu", True),
        ("Café Kränzchen", "kranz", True),
        ("Café Kränzchen", "ranz", False),  # not a prefix, not a dictionary part
        ("anything", "", True),
    ],
)
def test_matches(doc, query, expected):
    assert matches(index_tokens([doc]), query_terms(query)) is expected


def test_prefix_folding_is_consistent():
    """A folded prefix of a word is a prefix of the folded word (typing as you search)."""
    for word in ["Müllerstraße", "Mueller", "Begegnungsstätte", "Poesie", "Bauernhof", "Quelle"]:
        for i in range(1, len(word) + 1):
            assert fold(word).startswith(fold(word[:i])), (word, i)


def _german_normalize_fsm(s: str) -> str:
    """Lucene's GermanNormalizationFilter on already folded (umlaut-free) text.

    States: N ordinary, V "after a vowel or q" (``ue`` stays), U "after a/o, or after a
    u that follows N" (a following ``e`` is dropped). Every other character resets to N,
    so applying it to a whole string equals applying it token by token. Reference
    implementation of ``text._german_normalize`` (which does the same with one regex).
    """
    out: list[str] = []
    state = 0  # 0 = N, 1 = V, 2 = U
    for c in s:
        if c == "a" or c == "o":
            state = 2
        elif c == "u":
            state = 2 if state == 0 else 1
        elif c == "e":
            if state == 2:
                state = 1
                continue
            state = 1
        elif c == "i" or c == "q" or c == "y":
            state = 1
        else:
            state = 0
        out.append(c)
    return "".join(out)
