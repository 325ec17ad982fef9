"""Sign-in with the platform's accounts (argon2 hashes, ``assets.accounts``), and the gate of every route.

The session holds the account's name only; each request loads the account again, so a disabled
account is out at its next click. Every route calls :func:`authorize` with its action and the scope of
the object concerned; ``AccessDenied`` becomes the 403 page with the accounts' Chinese reason.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assets.accounts.authorize import AccessDenied, Account, allowed, require
from assets.accounts.permissions import permission
from assets.accounts.store import authenticate, get_account
from orchestration.portal.context import portal
from orchestration.portal.security import checked_form, renew_csrf_token, safe_next

SESSION_ACCOUNT = "account"
SESSION_SIGNED_IN = "signed_in_at"

# Password guessing: at most this many failures per account name (and per client) in the window
MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60


class SignInRequired(Exception):
    """The request needs a signed-in account; the handler redirects to the sign-in page."""


class _Throttle:
    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and now - failures[0] > FAILURE_WINDOW_SECONDS:
            failures.popleft()
        return failures

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= MAX_FAILURES for k in keys)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def clear(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def _throttle(request: Request) -> _Throttle:
    state = request.app.state
    if not hasattr(state, "sign_in_throttle"):
        state.sign_in_throttle = _Throttle()
    return state.sign_in_throttle


def signed_in(request: Request) -> Account | None:
    """The session's account when it still exists and is active; a stale session is cleared."""
    name = request.session.get(SESSION_ACCOUNT)
    if not isinstance(name, str) or not name:
        return None
    account = get_account(portal(request).platform, name)
    if account is None or not account.active:
        request.session.clear()
        return None
    return account


def current_account(request: Request) -> Account:
    account = signed_in(request)
    if account is None:
        raise SignInRequired()
    return account


def authorize(
    request: Request,
    action: str,
    *,
    county_code: str | None = None,
    department_id: str | None = None,
    merchant_id: str | None = None,
) -> Account:
    """The signed-in account when it may take ``action`` in this scope; 403 otherwise."""
    account = current_account(request)
    try:
        return require(
            portal(request).platform,
            account.name,
            action,
            county_code=county_code,
            department_id=department_id,
            merchant_id=merchant_id,
        )
    except AccessDenied as exc:
        raise HTTPException(403, str(exc)) from exc


def may(account: Account, action: str, **scope: str | None) -> bool:
    """For navigation and buttons only; routes still call :func:`authorize`."""
    try:
        return allowed(account, permission(action), **scope) is None
    except KeyError:
        return False


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def login_page(request: Request) -> Response:
    if signed_in(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _login_form(request, next_url=safe_next(request.query_params.get("next")))


def _login_form(
    request: Request, *, next_url: str, error: str | None = None, status_code: int = 200
) -> Response:
    from orchestration.portal.pages import render  # pages builds on this module

    return render(
        request,
        "login.html",
        {"next_url": next_url, "error": error},
        account=None,
        status_code=status_code,
    )


async def login_submit(request: Request) -> Response:
    form = await checked_form(request)
    name = str(form.get("name") or "").strip()
    password = str(form.get("password") or "")
    next_url = safe_next(str(form.get("next") or ""))
    client = request.client.host if request.client else "unknown"
    keys = (f"account:{name.lower()}", f"client:{client}")
    throttle = _throttle(request)
    if throttle.blocked(*keys):
        return _login_form(
            request,
            next_url=next_url,
            error=f"登录失败次数过多，请 {FAILURE_WINDOW_SECONDS // 60} 分钟后再试",
            status_code=429,
        )
    account = None
    if name and password:
        account = await run_in_threadpool(authenticate, portal(request).platform, name, password)
    if account is None:
        throttle.fail(*keys)
        return _login_form(
            request, next_url=next_url, error="账号或口令不正确，或账号已停用", status_code=401
        )
    throttle.clear(f"account:{name.lower()}")
    request.session.clear()  # a fresh session: nothing carried over from before sign-in
    request.session[SESSION_ACCOUNT] = account.name
    request.session[SESSION_SIGNED_IN] = int(time.time())
    renew_csrf_token(request)
    return RedirectResponse(next_url, status_code=303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
