"""Principals and API tokens (``directory_core.auth``), and a JWT single sign-on plugin
through the ``authenticate`` hook."""

from __future__ import annotations

import logging
import secrets
import time
import types

import jwt
import pytest
from starlette.requests import Request

from directory_core import auth, hookimpl
from directory_core.auth import (
    AuthenticationError,
    Principal,
    authenticate,
    bearer_token,
    check_token,
    create_token,
    list_tokens,
    revoke_token,
)

from .helpers import make_directory
from .stores import dump_store

JWT_SECRET = "test-only-hs256-secret-0123456789abcdef"


def request(authorization: str | None = None) -> Request:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    return Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})


@pytest.fixture
def directory(tmp_path):
    opened = make_directory(tmp_path)
    yield opened
    opened.close()


def test_a_token_is_shown_once_and_only_its_hash_is_stored(directory):
    token_id, token = create_token(directory.store, "AWO Hörde", "editor", ["awo"], 30)
    secret = token.split(".", 1)[1]
    assert token == f"{token_id}.{secret}" and len(secret) >= 40
    assert secret not in repr(dump_store(directory.store))  # the store has only the SHA-256
    assert check_token(directory.store, token) == Principal("AWO Hörde", "editor", {"awo"})
    [listed] = list_tokens(directory.store)
    assert "hash" not in listed and listed["carriers"] == ["awo"]


@pytest.mark.parametrize(
    "role, carriers, message",
    [
        ("editor", [], "needs at least one carrier"),
        ("admin", ["awo"], "only editor tokens have carriers"),
        ("owner", [], "role must be one of admin, editor, counsellor"),
    ],
)
def test_token_roles_and_carriers_are_checked(directory, role, carriers, message):
    with pytest.raises(ValueError, match=message):
        create_token(directory.store, "x", role, carriers)


def test_revoked_and_expired_tokens_are_refused(directory, monkeypatch):
    _, revoked = create_token(directory.store, "alt", "admin")
    token_id, expiring = create_token(directory.store, "kurz", "counsellor", expires_days=1)
    assert revoke_token(directory.store, int(revoked.split(".")[0]))
    with pytest.raises(AuthenticationError, match="revoked"):
        check_token(directory.store, revoked)
    assert check_token(directory.store, expiring).role == "counsellor"
    later = auth.utcnow() + auth.timedelta(days=1, seconds=1)
    monkeypatch.setattr(auth, "utcnow", lambda: later)
    with pytest.raises(AuthenticationError, match="expired"):
        check_token(directory.store, expiring)
    assert not revoke_token(directory.store, 999)


def test_secrets_are_compared_in_constant_time(directory, monkeypatch):
    token_id, token = create_token(directory.store, "a", "admin")
    calls = []
    real = auth.hmac.compare_digest
    monkeypatch.setattr(
        auth.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b)
    )
    check_token(directory.store, token)
    for wrong in (f"{token_id}.{'x' * 43}", f"{token_id + 1}.{'x' * 43}"):
        with pytest.raises(AuthenticationError):
            check_token(directory.store, wrong)
    # a known id with a wrong secret and an unknown id both go through compare_digest
    assert len(calls) == 3 and all(len(a) == len(b) == 64 for a, b in calls)


def test_a_thousand_wrong_tokens_change_nothing_and_are_logged_without_their_text(
    directory, caplog
):
    token_id, token = create_token(directory.store, "echt", "admin")
    before = dump_store(directory.store)
    wrong = [f"{token_id}.{secrets.token_urlsafe(32)}" for _ in range(500)]
    wrong += [f"{n}.{secrets.token_urlsafe(32)}" for n in range(500)]
    caplog.set_level(logging.INFO)
    started = time.perf_counter()
    for text in wrong:
        outcome = authenticate(directory, request(f"Bearer {text}"))
        assert outcome.principal is None and outcome.error == "the token is not valid"
    elapsed = time.perf_counter() - started
    assert dump_store(directory.store) == before
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged.count("API token refused") == 1000
    assert not any(text.split(".", 1)[1] in logged for text in wrong)
    assert token.split(".", 1)[1] not in logged
    assert elapsed < 60  # generous: 1,000 look-ups, no lock-out sleeping
    assert authenticate(directory, request(f"Bearer {token}")).principal.role == "admin"


def test_malformed_and_missing_credentials(directory):
    assert authenticate(directory, request()).principal is None
    assert authenticate(directory, request("Basic dXNlcjpwdw==")).principal is None
    assert bearer_token(request("Bearer  abc ")) == "abc"
    outcome = authenticate(directory, request("Bearer not-a-token"))
    assert outcome.principal is None and "malformed" in outcome.error


def test_principal_rights():
    admin = Principal("a", "admin")
    editor = Principal("e", "editor", {"awo"})
    counsellor = Principal("c", "counsellor")
    assert admin.may_write("caritas") and admin.may_write(None)
    assert editor.may_write("awo") and not editor.may_write("caritas")
    assert not editor.may_write(None) and not counsellor.may_write("awo")


# -- a single sign-on plugin with JWTs (PyJWT, HS256) -----------------------------------


@hookimpl
def _jwt_authenticate(request, directory):
    token = bearer_token(request)
    if token is None or token.count(".") != 2:  # not a JWT: the token scheme may know it
        return None
    try:
        claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    except jwt.InvalidTokenError as exc:
        raise AuthenticationError(f"the single sign-on token is not valid ({exc})") from None
    return Principal(claims["sub"], claims["role"], frozenset(claims.get("carriers", [])))


JWT_PLUGIN = types.SimpleNamespace(authenticate=_jwt_authenticate)


def test_a_jwt_single_sign_on_plugin_replaces_or_complements_tokens(tmp_path):
    directory = make_directory(tmp_path, [("city-sso", JWT_PLUGIN)])
    try:
        claims = {"sub": "m.muster@dortmund.invalid", "role": "editor", "carriers": ["awo"]}
        signed = jwt.encode({**claims, "exp": int(time.time()) + 600}, JWT_SECRET, "HS256")
        outcome = authenticate(directory, request(f"Bearer {signed}"))
        assert outcome.principal == Principal("m.muster@dortmund.invalid", "editor", {"awo"})

        forged = jwt.encode(claims, "another-secret-of-sufficient-length-123", "HS256")
        outcome = authenticate(directory, request(f"Bearer {forged}"))
        assert outcome.principal is None and "signature" in outcome.error.lower()
        expired = jwt.encode({**claims, "exp": int(time.time()) - 10}, JWT_SECRET, "HS256")
        assert "expired" in authenticate(directory, request(f"Bearer {expired}")).error

        _, token = create_token(directory.store, "Import-Skript", "admin")
        assert authenticate(directory, request(f"Bearer {token}")).principal.role == "admin"
    finally:
        directory.close()


# -- the `directory token` commands ----------------------------------------------------


def test_token_commands(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from directory_cli.main import cli

    monkeypatch.setenv("DIRECTORY_STORE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert run("init").exit_code == 0
    created = run("token", "create", "--role", "editor", "--carrier", "awo", "--name", "AWO",
                  "--expires", "90")  # fmt: skip
    assert created.exit_code == 0, created.output
    token = created.output.splitlines()[-1]
    assert created.output.endswith(f"\n{token}\n") and token.startswith("1.")
    assert "editor of awo, valid for 90 days" in created.output
    listed = run("token", "list")
    assert (
        listed.output.startswith("1\tAWO\teditor\tawo\tcreated ") and "valid until" in listed.output
    )
    assert token.split(".")[1] not in listed.output
    assert run("token", "revoke", "1").output == "token 1 revoked\n"
    assert "\trevoked " in run("token", "list").output
    again = runner.invoke(cli, ["token", "revoke", "1"])
    assert again.exit_code == 1 and "no valid token with id 1" in again.output
    bad = runner.invoke(cli, ["token", "create", "--role", "editor", "--name", "x"])
    assert bad.exit_code == 2 and "needs at least one carrier" in bad.output
    bad = runner.invoke(
        cli, ["token", "create", "--role", "editor", "--carrier", "nope", "--name", "x"]
    )
    assert bad.exit_code == 2 and "unknown carrier 'nope'" in bad.output
