"""Who is asking: principals, roles, API tokens, and the built-in ``authenticate`` hook.

Roles (``ROLES``): ``counsellor`` reads staff-only fields; ``editor`` also writes the
offers of its carriers; ``admin`` writes everything of the instance. Anonymous callers
(no principal) read public data.

Authentication is a plugin hook (``hookspecs.authenticate``): a city can plug in its
single sign-on. API tokens are the built-in implementation (this module, registered
``trylast``): ``directory token create`` prints ``ID.SECRET`` once; the store keeps only
the SHA-256 of the secret, compared with ``hmac.compare_digest`` (constant time). Refused
tokens are logged with the reason and, if the id is known, the token's id and name, but
never with the token text.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import tables as t
from .hookspecs import hookimpl
from .store import _utc, utcnow

if TYPE_CHECKING:  # pragma: no cover
    from .directory import Directory
    from .store import Store

log = logging.getLogger(__name__)

ROLES = ("admin", "editor", "counsellor")
WRITERS = ("admin", "editor")
# hashed when a token id is unknown, so that case costs what a wrong secret costs
_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()


class AuthenticationError(Exception):
    """Credentials were sent but are not valid (unknown, expired, revoked, malformed).

    The message is shown to the caller; it never contains the credentials."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: ``name`` (recorded in the history), ``role`` (one of
    ``ROLES``) and, for editors, the carrier keys whose offers it may write."""

    name: str
    role: str
    carriers: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {self.role!r}")
        object.__setattr__(self, "carriers", frozenset(self.carriers))

    @property
    def writes(self) -> bool:
        return self.role in WRITERS

    def may_write(self, carrier: str | None) -> bool:
        """May create or change an offer of ``carrier`` (admins: any, also none)."""
        if self.role == "admin":
            return True
        return self.role == "editor" and carrier is not None and carrier in self.carriers


@dataclass(frozen=True)
class Authentication:
    """The outcome for one request: a principal, or none, and why credentials that were
    sent were refused (``error``)."""

    principal: Principal | None = None
    error: str | None = None


def authenticate(directory: Directory, request: Any) -> Authentication:
    """Ask the ``authenticate`` hook who sent ``request``."""
    try:
        principal = directory.plugins.hook.authenticate(request=request, directory=directory)
    except AuthenticationError as exc:
        return Authentication(None, str(exc))
    if principal is not None and not isinstance(principal, Principal):
        raise TypeError(f"authenticate returned {principal!r}, not a Principal or None")
    return Authentication(principal)


# -- API tokens --------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    store: Store,
    name: str,
    role: str,
    carriers: Iterable[str] = (),
    expires_days: int | None = None,
) -> tuple[int, str]:
    """Store a new token; return its id and the token text ``ID.SECRET`` (shown once:
    only the hash of the secret is kept)."""
    carriers = sorted(set(carriers))
    Principal(name, role, frozenset(carriers))  # checks the role
    if not name.strip():
        raise ValueError("the token needs a name (who or what uses it)")
    if role == "editor" and not carriers:
        raise ValueError("an editor token needs at least one carrier")
    if role != "editor" and carriers:
        raise ValueError(f"only editor tokens have carriers, not {role} tokens")
    if expires_days is not None and expires_days < 1:
        raise ValueError(f"expires must be at least 1 day, got {expires_days}")
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    with store.transaction() as conn:
        token_id = conn.execute(
            sa.insert(t.api_tokens).values(
                name=name.strip(),
                role=role,
                carriers=carriers,
                hash=_digest(secret),
                created_at=now,
                expires_at=now + timedelta(days=expires_days) if expires_days else None,
                revoked_at=None,
            )
        ).inserted_primary_key[0]
    return token_id, f"{token_id}.{secret}"


def list_tokens(store: Store) -> list[dict[str, Any]]:
    """Every token without its hash, oldest first."""
    columns = [c for c in t.api_tokens.c if c.name != "hash"]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(*columns).order_by(t.api_tokens.c.id))
        return [
            {
                **row._mapping,
                "created_at": _utc(row.created_at),
                "expires_at": _utc(row.expires_at),
                "revoked_at": _utc(row.revoked_at),
            }
            for row in rows
        ]


def revoke_token(store: Store, token_id: int) -> bool:
    """Revoke a token (kept, for the record); False if there is no such token or it was
    revoked already."""
    with store.transaction() as conn:
        return (
            conn.execute(
                sa.update(t.api_tokens)
                .where(t.api_tokens.c.id == token_id, t.api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            ).rowcount
            == 1
        )


def token_row(store: Store, token_id: int) -> Any:
    """The stored row of a token (``None`` if there is none)."""
    with store.engine.connect() as conn:
        return conn.execute(sa.select(t.api_tokens).where(t.api_tokens.c.id == token_id)).first()


def principal_of_token(row: Any) -> Principal:
    """The principal of a stored token row whose secret was checked (or whose signed
    session it is); ``AuthenticationError`` if it is revoked or expired."""
    if row.revoked_at is not None:
        log.warning("API token refused: token %s (%s) is revoked", row.id, row.name)
        raise AuthenticationError("the token has been revoked")
    if row.expires_at is not None and _utc(row.expires_at) <= utcnow():
        log.warning("API token refused: token %s (%s) has expired", row.id, row.name)
        raise AuthenticationError("the token has expired")
    return Principal(row.name, row.role, frozenset(row.carriers))


def check_token(store: Store, token: str) -> Principal:
    """The principal of a token text; ``AuthenticationError`` if it is not valid."""
    token_id, dot, secret = token.strip().partition(".")
    if not dot or not token_id.isdigit() or not secret or len(token_id) > 18:
        log.warning("API token refused: malformed")
        raise AuthenticationError("the token is malformed (expected ID.SECRET)")
    row = token_row(store, int(token_id))
    stored = row.hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(stored.encode("ascii"), _digest(secret).encode("ascii"))
    if row is None or not matches:
        log.warning("API token refused: unknown token or wrong secret")
        raise AuthenticationError("the token is not valid")
    return principal_of_token(row)


def bearer_token(request: Any) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, if there is one."""
    header = request.headers.get("authorization") if request is not None else None
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


@hookimpl(trylast=True, specname="authenticate")
def authenticate_with_token(request: Any, directory: Directory) -> Principal | None:
    """The built-in scheme: ``Authorization: Bearer ID.SECRET`` with an API token."""
    token = bearer_token(request)
    if token is None:
        return None
    return check_token(directory.store, token)
