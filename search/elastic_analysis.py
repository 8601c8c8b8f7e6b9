"""Elasticsearch index settings and mappings: the analysis chain that reproduces
``text.fold`` and ``text.index_token_list`` inside Lucene, and the field mappings.

Split from ``elastic.py`` (the backend; its docstring describes the index layout); names
are re-exported there.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

from .text import (
    DICTIONARY,
    MAX_SUBWORD_SIZE,
    MIN_SUBWORD_SIZE,
    MIN_WORD_SIZE,
    fold,
)

SCHEMA_VERSION = 3  # 2: the owning store's id in the index metadata (``_meta``); 3: vocab
PREFIX_GRAMS = 20  # query terms up to this length are one term query on text.prefix
WINDOW = 10_000  # from + size of one request (index.max_result_window)
MAX_KEYWORD = 8000  # characters kept in keyword fields (Lucene terms: <= 32766 bytes)


# Unicode ranges whose characters get a rule in the generated mapping char filter when
# text.fold changes them (Latin, IPA, Greek, Cyrillic, Arabic, ..., combining marks,
# punctuation and symbols, letter-like and enclosed forms, presentation and full-width
# forms). Hangul syllables and CJK compatibility ideographs stay out (tens of thousands
# of rules for scripts the directory does not index).
_MAPPED_RANGES = ((0x80, 0x2E80), (0xA640, 0xA800), (0xAB30, 0xAB70), (0xFB00, 0xFFF0))

# -- analysis and mapping ------------------------------------------------------------------


def _escape(s: str) -> str:
    """``s`` as ``\\uXXXX`` escapes of its UTF-16 code units (mapping rule syntax)."""
    units = s.encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


@functools.cache
def fold_mapping_rules() -> tuple[str, ...]:
    """``mapping`` char filter rules ``c => fold(c)`` for the characters of
    ``_MAPPED_RANGES`` that ``text.fold`` changes: Elasticsearch then tokenizes text that
    is already folded character by character the way Python folds it (diacritics and
    combining marks removed, ``й`` -> ``и``, ``ª`` -> ``a``, ``½`` -> ``1⁄2``)."""
    rules = []
    for lo, hi in _MAPPED_RANGES:
        for cp in range(lo, hi):
            c = chr(cp)
            if unicodedata.category(c) in ("Cn", "Cs", "Co"):
                continue
            folded = fold(c)
            if folded != c:
                rules.append(f"{_escape(c)} => {_escape(folded)}")
    return tuple(rules)


def index_settings(shards: int, replicas: int | None) -> dict[str, Any]:
    """Settings of a new versioned index: shards, replicas and the German analysis."""
    words = sorted(w for w in DICTIONARY if MIN_SUBWORD_SIZE <= len(w) <= MAX_SUBWORD_SIZE)
    fold_filters = ["lowercase", "asciifolding", "german_normalization"]
    index: dict[str, Any] = {"number_of_shards": shards, "max_result_window": WINDOW}
    if replicas is None:
        index["auto_expand_replicas"] = "0-1"
    else:
        index["number_of_replicas"] = replicas
    return {
        "index": index,
        "analysis": {
            "char_filter": {
                "directory_fold": {"type": "mapping", "mappings": list(fold_mapping_rules())}
            },
            "tokenizer": {
                "directory_words": {"type": "pattern", "pattern": r"[^\p{L}\p{N}]+"},
            },
            "filter": {
                "directory_decompound": {
                    "type": "dictionary_decompounder",
                    "word_list": words,
                    "min_word_size": MIN_WORD_SIZE,
                    "min_subword_size": MIN_SUBWORD_SIZE,
                    "max_subword_size": MAX_SUBWORD_SIZE,
                    "only_longest_match": False,
                },
                "directory_prefixes": {
                    "type": "edge_ngram",
                    "min_gram": 1,
                    "max_gram": PREFIX_GRAMS,
                    "preserve_original": True,
                },
            },
            "analyzer": {
                # index side: text.index_tokens
                "directory_text": {
                    "type": "custom",
                    "char_filter": ["directory_fold"],
                    "tokenizer": "directory_words",
                    "filter": [*fold_filters, "directory_decompound"],
                },
                # index side of text.prefix: every prefix of every index token
                "directory_text_prefixes": {
                    "type": "custom",
                    "char_filter": ["directory_fold"],
                    "tokenizer": "directory_words",
                    "filter": [*fold_filters, "directory_decompound", "directory_prefixes"],
                },
                # query side: text.query_terms (the backend itself sends folded terms)
                "directory_query": {
                    "type": "custom",
                    "char_filter": ["directory_fold"],
                    "tokenizer": "directory_words",
                    "filter": fold_filters,
                },
            },
        },
    }


def index_mappings(prefix: str, owner: str | None = None) -> dict[str, Any]:
    """The mapping of a new versioned index; ``owner``: the id of the store it is built
    from (``Store.identity``), recorded in ``_meta`` so that no other store writes it."""
    keyword = {"type": "keyword"}
    meta: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "alias": prefix}
    if owner is not None:
        meta["store"] = owner
    return {
        "dynamic": "strict",
        "_meta": {"directory": meta},
        "properties": {
            "id": keyword,
            "kind": keyword,
            "status": keyword,
            "title": {"type": "keyword", "index": False, "doc_values": False},
            "title_sort": keyword,
            "text": {
                "type": "text",
                "analyzer": "directory_text",
                "search_analyzer": "directory_query",
                "index_options": "docs",
                "norms": False,
                "fields": {
                    "prefix": {
                        "type": "text",
                        "analyzer": "directory_text_prefixes",
                        "search_analyzer": "directory_query",
                        "index_options": "freqs",
                    }
                },
            },
            # the index tokens (text.index_token_list), only for vocabulary(): doc values
            # for the terms aggregation, no inverted index
            "vocab": {"type": "keyword", "index": False},
            "location": {"type": "geo_point"},
            "lat": {"type": "double"},
            "lon": {"type": "double"},
            "district": keyword,
            "carrier": keyword,
            "categories": keyword,
            "languages": keyword,
            "channels": keyword,
            "accessibility": keyword,
            "free_of_charge": {"type": "boolean"},
            "slots": {
                "type": "nested",
                "properties": {
                    "weekday": {"type": "byte"},
                    "start": {"type": "integer"},
                    "end": {"type": "integer"},
                },
            },
            "extra": {
                "type": "nested",
                "properties": {
                    "k": keyword,
                    "t": keyword,
                    "l": {"type": "boolean"},
                    "b": {"type": "boolean"},
                    "n": {"type": "double"},
                    "s": keyword,  # strings up to MAX_KEYWORD characters
                    "sh": keyword,  # longer strings: their hash ...
                    "sp": keyword,  # ... and their first MAX_KEYWORD characters
                    "j": keyword,  # lists and objects: hash of the canonical JSON
                },
            },
        },
    }
