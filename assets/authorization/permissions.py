"""The actions of the authorized operation that the shared permission table does not list yet,
registered by this package (``assets/accounts/permissions.py``: ``register_action``)."""

from __future__ import annotations

from assets.accounts.permissions import Grant, Match, register_action
from assets.accounts.roles import Role

register_action(
    "merchants.register", "受理数据商进驻申请", Role.OPERATOR_REVIEW, Role.OPERATOR_COMPLIANCE
)
register_action(
    "merchants.exit",
    "数据商退出",
    Role.OPERATOR_REVIEW,
    Role.OPERATOR_COMPLIANCE,
    Role.BUREAU,
    Grant(Role.MERCHANT_USER, Match.MERCHANT),
)
register_action(
    "agreements.draft", "起草开发利用格式协议", Role.OPERATOR_REVIEW, Role.OPERATOR_COMPLIANCE
)
register_action(
    "agreements.sign", "签署开发利用格式协议", Grant(Role.MERCHANT_USER, Match.MERCHANT)
)
register_action("calendar.load", "加载国务院放假安排（工作日日历）", Role.BUREAU, Role.ENGINEER)
