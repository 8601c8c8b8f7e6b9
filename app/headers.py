"""Security headers on every response of the app (all front doors), as ASGI middleware.

``Content-Security-Policy`` allows only the app's own scripts, styles, fonts and API
(``'self'``), images from the app and the configured map tile servers
(``[server] img_src``), and no framing by other sites; ``X-Frame-Options`` says the
same to old browsers. Inline styles are allowed because GraphiQL's editor sets them;
inline scripts are not.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(img_src: Iterable[str] = ()) -> str:
    """The CSP header value, with ``img_src`` sources added to ``'self' data:``."""
    images = " ".join(["'self'", "data:", *img_src])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """Adds the security headers to every HTTP response (a header the app set itself
    is kept)."""

    def __init__(self, app: ASGIApp, img_src: Iterable[str] = ()):
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy(img_src).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in self.headers if h[0] not in present)
                message["headers"] = [h for h in headers if h[0].lower() != b"server"]
            await send(message)

        await self.app(scope, receive, send_with_headers)
