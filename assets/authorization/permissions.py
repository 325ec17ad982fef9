"""The actions of the authorized operation that the shared permission table does not list yet,
registered by this package (``assets/accounts/permissions.py``: ``register_action``). An action another
package registered first (the portal registers ``merchants.register`` for a merchant's own
registration) is left as it is."""

from __future__ import annotations

from assets.accounts.permissions import PERMISSIONS, Grant, Match, register_action
from assets.accounts.roles import Role

OC, OR, MU, B = Role.OPERATOR_COMPLIANCE, Role.OPERATOR_REVIEW, Role.MERCHANT_USER, Role.BUREAU
_ACTIONS: tuple[tuple[str, str, tuple[Grant | Role, ...]], ...] = (
    # the operator accepts (受理) a registration; a merchant user registers its own merchant (the
    # portal registers the same definition of merchants.register)
    ("merchants.accept", "受理数据商进驻申请", (OR, OC)),
    ("merchants.register", "注册数据商", (Grant(MU, Match.MERCHANT),)),
    ("merchants.exit", "数据商退出", (OR, OC, B, Grant(MU, Match.MERCHANT))),
    ("agreements.draft", "起草开发利用格式协议", (OR, OC)),
    ("agreements.sign", "签署开发利用格式协议", (Grant(MU, Match.MERCHANT),)),
    ("calendar.load", "加载国务院放假安排（工作日日历）", (B, Role.ENGINEER)),
)

for _action, _label, _grants in _ACTIONS:
    if _action not in PERMISSIONS:
        register_action(_action, _label, *_grants)
