"""Security headers on every response of the app (``directory_app.headers``; issue 8,
finding 10)."""

from __future__ import annotations

import httpx
import pytest
from directory_app.assembly import create_app
from directory_app.headers import content_security_policy


@pytest.mark.parametrize(
    ("method", "path", "options"),
    [
        ("GET", "/healthz", {}),
        ("POST", "/graphql", {"json": {"query": "{ __typename }"}}),
        ("POST", "/graphql", {"content": b"42", "headers": {"content-type": "application/json"}}),
        ("GET", "/graphql", {"headers": {"Accept": "text/html"}}),
        ("GET", "/graphiql-assets/graphiql.min.css", {}),
        ("GET", "/no-such-page", {}),
    ],
    ids=["healthz", "graphql", "refused", "graphiql", "asset", "404"],
)
def test_every_response_has_the_security_headers(known_server, method, path, options):
    response = httpx.request(method, f"{known_server.url}{path}", **options)
    headers = response.headers
    assert headers["content-security-policy"] == content_security_policy(
        ["https://*.tile.openstreetmap.org"]
    )
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_the_policy_allows_only_this_origin_and_the_map_tiles():
    policy = dict(
        part.split(" ", 1)
        for part in content_security_policy(["https://tiles.example.org"]).split("; ")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline scripts, no CDN
    assert policy["connect-src"] == "'self'"
    assert policy["img-src"] == "'self' data: https://tiles.example.org"


def test_img_src_comes_from_the_instance(directory, serve):
    directory.instance.server.img_src = ["https://tiles.example.org"]
    server = serve(create_app(directory, sync_interval=None))
    policy = httpx.get(f"{server.url}/healthz").headers["content-security-policy"]
    assert "img-src 'self' data: https://tiles.example.org;" in policy


def test_img_src_is_checked_when_the_instance_is_loaded():
    from directory_core.instance import InstanceError, parse_instance

    with pytest.raises(InstanceError, match="server.img_src"):
        parse_instance(
            {"instance": {"name": "X"}, "server": {"img_src": ["https://a.org; script-src *"]}}
        )
