"""The README's "Writing as a carrier" examples work as written, with an editor's token
(the ids and versions, shown as "…" and numbers there, are those of a real offer)."""

from __future__ import annotations

import re

import httpx
from directory_app.assembly import create_app

from directory_core.auth import create_token

from .conftest import ROOT, running_server
from .write_fixtures import write_directory


def _write_examples() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Writing as a carrier", 1)[1]
    block = re.search(r"```graphql\n(.*?)```", section, re.DOTALL).group(1)
    # one operation per line or indented continuation
    return re.split(r"\n(?=mutation|\{)", block.strip())


def test_the_readme_write_examples_work(tmp_path):
    examples = _write_examples()
    assert [e.split("(")[0].split("{")[-1].strip() for e in examples] == [
        "updateOffer",
        "verifyOffer",
        "staleOffers",
    ]
    directory = write_directory(f"sqlite:///{tmp_path / 'store.sqlite'}", tmp_path / "index")
    try:
        from directory_core.demo import load_demo

        load_demo(directory)
        token = create_token(directory.store, "Redaktion AWO", "editor", ["awo"])[1]
        with running_server(create_app(directory, sync_interval=None)) as server:
            client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})

            def run(query: str) -> dict:
                answer = client.post("/graphql", json={"query": query}).json()
                assert "errors" not in answer, (query, answer)
                return answer["data"]

            found = run(
                '{ offers(filter: {carriers: ["awo"]}, first: 1) '
                "{ edges { node { id version } } } }"
            )
            offer = found["offers"]["edges"][0]["node"]
            version = offer["version"]
            for example in examples:
                query = example.replace('"…"', f'"{offer["id"]}"')
                query = re.sub(r"version: \d+", f"version: {version}", query)
                data = run(query)
                changed = next(iter(data.values()))
                if isinstance(changed, dict) and "version" in changed:
                    version = changed["version"]
            client.close()
        assert directory.get(offer["id"]).contact.phone == "0231 50 12345"
        assert directory.get(offer["id"]).verified_by == "Redaktion AWO"
    finally:
        directory.close()
