"""Smoke check of a running Elasticsearch node and the Python client.

Usage: .venv/bin/python .ci/check_es.py [URL]   (URL defaults to $ES_URL, then http://127.0.0.1:9200)

Creates a throwaway index with a geo_point field and a German analyzer
(lowercase, asciifolding, german_normalization, dictionary_decompounder),
indexes one document, runs a geo_distance query and an _analyze call, then
deletes the index. Keyword arguments wherever the 7.17 client has them (all but _analyze).
With --replicas N the index gets N replicas and the check waits for green.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
import warnings

from elasticsearch import Elasticsearch


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url", nargs="?", default=os.environ.get("ES_URL", "http://127.0.0.1:9200"))
    ap.add_argument("--replicas", type=int, default=0)
    args = ap.parse_args()
    warnings.simplefilter("error")  # as pytest's filterwarnings=error would

    es = Elasticsearch(args.url)
    info = es.info()
    print("info:", info["version"]["number"], info["cluster_name"], info["name"])
    assert info["version"]["number"] == "7.10.2", info

    index = f"ci-check-{uuid.uuid4().hex[:8]}"
    es.indices.create(
        index=index,
        settings={
            "number_of_shards": 1,
            "number_of_replicas": args.replicas,
            "analysis": {
                "filter": {
                    "de_decompound": {
                        "type": "dictionary_decompounder",
                        "word_list": ["senioren", "beratung", "stelle", "netz"],
                    }
                },
                "analyzer": {
                    "de_text": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": [
                            "lowercase",
                            "de_decompound",
                            "german_normalization",
                            "asciifolding",
                        ],
                    }
                },
            },
        },
        mappings={
            "properties": {
                "name": {"type": "text", "analyzer": "de_text"},
                "location": {"type": "geo_point"},
            }
        },
    )
    try:
        health = es.cluster.health(
            index=index, wait_for_status="green" if args.replicas else "yellow", timeout="60s"
        )
        print("index health:", health["status"], "nodes:", health["number_of_nodes"])
        assert not health["timed_out"], health

        es.index(
            index=index,
            id="1",
            document={
                "name": "Seniorenberatungsstelle Köln",
                "location": {"lat": 50.9375, "lon": 6.9603},
            },
            refresh=True,
        )
        res = es.search(
            index=index,
            query={
                "bool": {
                    "must": {"match": {"name": "beratung"}},
                    "filter": {
                        "geo_distance": {
                            "distance": "10km",
                            "location": {"lat": 50.94, "lon": 6.95},
                        }
                    },
                }
            },
        )
        hits = [h["_id"] for h in res["hits"]["hits"]]
        print("geo_distance + match hits:", hits)
        assert hits == ["1"], res

        far = es.search(
            index=index,
            query={"geo_distance": {"distance": "10km", "location": {"lat": 52.52, "lon": 13.405}}},
        )
        assert far["hits"]["total"]["value"] == 0, far

        # indices.analyze() of the 7.17 client has no keyword form (only index, search,
        # create, scroll, clear_scroll, update(-by-query) and indices.create have one):
        # body= is the only way here, and it raises no DeprecationWarning for this API.
        analyzed = es.indices.analyze(
            index=index, body={"analyzer": "de_text", "text": "Seniorenberatungsstelle Köln Straße"}
        )
        tokens = [t["token"] for t in analyzed["tokens"]]
        print("_analyze tokens:", tokens)
        for expected in ("senioren", "beratung", "stelle", "koln", "strasse"):
            assert expected in tokens, (expected, tokens)
    finally:
        es.indices.delete(index=index)
    print("ES check OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
