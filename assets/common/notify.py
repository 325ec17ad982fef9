"""The one notification sender of the project: a message to one channel (an apprise URL: DingTalk, WeCom
bot, e-mail, webhook), answered by a :class:`Delivery` that names the channel with its secrets hidden.

``${ENV_NAME}`` placeholders in a URL are filled from the ``environ`` the caller passes (the wiring
passes the process environment), so tokens stay out of configuration files; the label written down
keeps the placeholder. Sending never raises: a channel's failure must not stop the others.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

OK, FAILED, INVALID = "ok", "failed", "invalid"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Delivery:
    """One message on one channel."""

    channel: str  # with secrets hidden
    status: str  # ok | failed | invalid (an unknown URL or an unset variable)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK


class ChannelError(ValueError):
    """A channel that cannot be used; the message names no secret."""


def resolve_channel(url: str, environ: Mapping[str, str]) -> str:
    """Fill ``${ENV_NAME}`` placeholders; raises :class:`ChannelError` naming unset variables."""
    missing = sorted({name for name in _PLACEHOLDER.findall(url) if not environ.get(name)})
    if missing:
        raise ChannelError(f"环境变量 {'、'.join(missing)} 未设置")
    return _PLACEHOLDER.sub(lambda m: environ[m[1]], url)


def channel_label(url: str) -> str:
    """The channel as it may be written down: a placeholder template as is, else secrets hidden."""
    if _PLACEHOLDER.search(url):
        return url
    import apprise  # imported by the processes that notify (about 0.1 s)

    plugin = apprise.Apprise.instantiate(url)
    if plugin:
        return plugin.url(privacy=True)
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://（无法识别的地址）"


def send(
    url: str,
    title: str,
    body: str,
    *,
    environ: Mapping[str, str] | None = None,
    markdown: bool = False,
) -> Delivery:
    """One message on one channel; placeholders are filled from ``environ`` when given."""
    label = channel_label(url)
    try:
        resolved = url if environ is None else resolve_channel(url, environ)
    except ChannelError as exc:
        return Delivery(label, INVALID, str(exc))
    import apprise

    client = apprise.Apprise()
    if not client.add(resolved):
        return Delivery(label, INVALID, "渠道地址无法识别（apprise URL）")
    body_format = apprise.NotifyFormat.MARKDOWN if markdown else None
    try:
        with apprise.LogCapture(level=logging.WARNING) as captured:
            sent = bool(client.notify(body=body, title=title, body_format=body_format))
            lines = captured.getvalue().strip().splitlines()
    except Exception:  # a channel's failure must not stop the others
        log.exception("notification to %s failed", label)
        sent, lines = False, []
    if sent:
        return Delivery(label, OK)
    return Delivery(label, FAILED, (lines or ["发送失败"])[-1][:500])


def _forget_inherited_pools() -> None:
    """In a forked child (``publicdata run``'s workers): apprise's module-level thread pools, made at
    its first notification, came over from the parent without their threads. The first notification
    handed to one waited out apprise's 60 s timeout and failed (a quality notice from a worker forked
    by a process that had notified before). Each pool, its lock and the parent's abandoned calls are
    dropped; apprise makes new pools at its next notification (apprise 2.3, ``constraints.txt``)."""
    module = sys.modules.get("apprise.apprise")
    if module is None:
        return
    for pool in ("_shared_executor", "_coordinator_executor"):
        if hasattr(module, pool):
            setattr(module, pool, None)
    for lock in ("_shared_executor_lock", "_coordinator_executor_lock", "_abandoned_futures_lock"):
        if hasattr(module, lock):
            setattr(module, lock, threading.Lock())
    if hasattr(module, "_abandoned_futures"):
        module._abandoned_futures = []


os.register_at_fork(after_in_child=_forget_inherited_pools)
