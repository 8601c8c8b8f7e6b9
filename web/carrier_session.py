"""Signing carrier staff in to the carrier area: session cookies and CSRF tokens.

A carrier signs in with an API token as the password (``directory_core.auth``). The
session cookie holds only the token's id and a payload signed with ``itsdangerous``
under a key only the server knows: the stored SHA-256 of the token's secret. So the
cookie never contains the secret, every server process can check it without shared
state, and revoking the token (or its expiry) ends the session at the next request.

Cookies are ``HttpOnly`` and ``SameSite=Strict`` (``Secure`` behind HTTPS). Every form
carries a CSRF token: inside a session the one signed into the session cookie; on the
sign-in form (no session yet) a double-submit value also kept in a ``SameSite=Strict``
cookie. Both are compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from directory_core.auth import (
    AuthenticationError,
    Principal,
    check_token,
    principal_of_token,
    token_row,
)
from directory_core.directory import Directory

SESSION_COOKIE = "carrier_session"
# the whole site: staff-only pages outside /carriers (the gap analysis) read the session
COOKIE_PATH = "/"
SIGN_IN_CSRF_COOKIE = "carrier_csrf"
MAX_AGE = 8 * 3600  # a working day
_SALT = "directory-carrier-session"


@dataclass(frozen=True)
class CarrierSession:
    """A signed-in carrier: who, and the CSRF token its forms must send back."""

    principal: Principal
    csrf: str


def _serializer(key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=_SALT)


def sign_in(directory: Directory, token: str) -> tuple[CarrierSession, str]:
    """Check ``token``; the session and the cookie value. ``AuthenticationError`` if the
    token is not valid."""
    principal = check_token(directory.store, token)
    token_id = int(token.strip().partition(".")[0])
    row = token_row(directory.store, token_id)
    csrf = secrets.token_urlsafe(24)
    signed = _serializer(row.hash).dumps({"csrf": csrf})
    return CarrierSession(principal, csrf), f"{token_id}.{signed}"


def current(directory: Directory, request: Request) -> CarrierSession | None:
    """The session of ``request``, or ``None`` (no cookie, forged, too old, token
    revoked or expired)."""
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    token_id, _, signed = value.partition(".")
    if not token_id.isdigit() or len(token_id) > 18:
        return None
    row = token_row(directory.store, int(token_id))
    if row is None:
        return None
    try:
        payload = _serializer(row.hash).loads(signed, max_age=MAX_AGE)
        principal = principal_of_token(row)
    except (BadSignature, AuthenticationError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("csrf"), str):
        return None
    return CarrierSession(principal, payload["csrf"])


def same(given: Any, expected: str | None) -> bool:
    """A form's CSRF value matches (constant time)."""
    if not isinstance(given, str) or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def set_cookie(response: Response, request: Request, name: str, value: str, **more: Any) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=COOKIE_PATH,
        **more,
    )


def sign_in_csrf(request: Request) -> str:
    """The double-submit value of the sign-in form (the cookie's, or a new one)."""
    return request.cookies.get(SIGN_IN_CSRF_COOKIE) or secrets.token_urlsafe(24)
