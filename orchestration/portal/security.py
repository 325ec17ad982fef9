"""The portal's web security: session key, CSRF tokens, security headers, safe redirects.

- Sessions are signed cookies (Starlette's ``SessionMiddleware``): HttpOnly, SameSite=Lax, Secure when
  ``Settings.portal_secure_cookies`` (behind HTTPS), eight hours at most. The signing key is
  ``Settings.portal_secret_key`` or a random key generated once in ``<data dir>/secrets/``.
- Every form carries the session's CSRF token; a POST without it, or with another, is refused (403)
  before anything else happens (:func:`checked_form`).
- Every response carries a Content-Security-Policy that lets a page load nothing from another origin,
  and the usual hardening headers. The quality Data Docs, which Great Expectations renders with inline
  scripts, run in a CSP sandbox: an opaque origin that can neither read the portal's pages nor send
  its cookies, and still cannot load anything from outside.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assets.operation.keyfile import ensure_key_file
from orchestration.settings import Settings

SESSION_COOKIE = "publicdata_portal"
SESSION_MAX_AGE = 8 * 60 * 60  # a working day; sign in again after that
CSRF_FIELD = "csrf_token"
CSRF_SESSION_KEY = "csrf"

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# Great Expectations' Data Docs and the published catalog page: inline scripts and styles, but only
# in a sandbox (an opaque origin: no access to the portal's pages, no cookies on its subresource
# requests) and with nothing from outside the portal
SANDBOX_CSP = (
    "sandbox allow-scripts allow-popups; default-src 'self'; "
    "script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; form-action 'none'; frame-ancestors 'self'; "
    "base-uri 'none'; object-src 'none'"
)
SANDBOXED_PREFIXES = ("/quality-docs/", "/catalog/", "/reports/")
# The Data Docs' own scripts, style sheets, images and fonts (vendored libraries and GE's images, no
# data): a sandboxed page is an opaque origin, so they must be allowed to cross to it (CORP), and fonts,
# which browsers fetch in CORS mode, need CORS too; without both the pages lose their results list
# and pass/fail icons
DOCS_PREFIX = "/quality-docs/"
DOCS_ASSET_SUFFIXES = (".css", ".js", ".png", ".gif", ".svg", ".ico", ".woff", ".woff2", ".ttf")

BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def session_secret(settings: Settings) -> str:
    """The configured key, else the data directory's own random key (mode 0600)."""
    if settings.portal_secret_key:
        if len(settings.portal_secret_key) < 32:
            raise ValueError("PUBLICDATA_PORTAL_SECRET_KEY 至少需要 32 个字符")
        return settings.portal_secret_key
    path = ensure_key_file(settings.secrets_dir / "portal_session.key")
    return Path(path).read_text(encoding="ascii").strip()


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return token


def renew_csrf_token(request: Request) -> None:
    request.session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)


async def checked_form(request: Request, **limits: int) -> FormData:
    """The POSTed form, when it carries this session's CSRF token; otherwise 403."""
    form = await request.form(**limits)
    sent = form.get(CSRF_FIELD)
    expected = request.session.get(CSRF_SESSION_KEY)
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not expected
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        await form.close()
        raise HTTPException(403, "表单已失效或来源不明（CSRF 校验未通过），请刷新页面后重试")
    return form


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target inside the portal only (no scheme, no host, no protocol-relative URL)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in ("\r", "\n", "\\")):
        return default
    return target


class SecurityHeadersMiddleware:
    """Adds the CSP and hardening headers to every HTTP response; HTML stays out of caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        sandboxed = path.startswith(SANDBOXED_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["content-security-policy"] = SANDBOX_CSP if sandboxed else PAGE_CSP
                for name, value in BASE_HEADERS.items():
                    headers[name] = value
                if sandboxed:
                    headers["x-frame-options"] = "SAMEORIGIN"
                if path.startswith(DOCS_PREFIX) and path.lower().endswith(DOCS_ASSET_SUFFIXES):
                    headers["cross-origin-resource-policy"] = "cross-origin"
                    headers["access-control-allow-origin"] = "*"
                if not path.startswith("/static/"):
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
