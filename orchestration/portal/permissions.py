"""The portal's actions in the accounts' permission table (``assets/accounts/permissions.py``).

Every portal route names one action and passes the scope of the object it shows or changes to
``assets.accounts.authorize.require``. The state-changing actions are the accounts' own; the ones only
the portal has (seeing things, uploading a delivery) are registered here, unless the package that owns
them has defined them already.
"""

from __future__ import annotations

import assets.authorization.permissions  # noqa: F401  (the owners' actions first)
from assets.accounts.permissions import PERMISSIONS, Grant, Match, register_action
from assets.accounts.roles import Role

B, CO, DO = Role.BUREAU, Role.COUNTY_OFFICE, Role.DEPARTMENT_OFFICE
OC, OR, MU, EN = Role.OPERATOR_COMPLIANCE, Role.OPERATOR_REVIEW, Role.MERCHANT_USER, Role.ENGINEER


def _action(action: str, label: str, *grants: Grant | Role) -> str:
    if action not in PERMISSIONS:
        register_action(action, label, *grants)
    return action


TICKET_SCOPES = (B, Grant(CO, Match.COUNTY), Grant(DO, Match.DEPARTMENT))
VIEW_TICKETS = _action("tickets.view", "查看质量工单", *TICKET_SCOPES)
UPLOAD_DELIVERY = _action("deliveries.upload", "上传更正后的交付文件", Grant(DO, Match.DEPARTMENT))
VIEW_LINEAGE = _action("lineage.view", "查看数据血缘与质量报告", B, EN)
VIEW_SUPPLY = _action("supply.view", "查看供给暂停情况", B, OC, OR, EN)
VIEW_MERCHANTS = _action("merchants.view", "查看数据商", B, OC, OR, Grant(MU, Match.MERCHANT))
REGISTER_MERCHANT = "merchants.accept"  # operator staff accept (受理) a merchant's registration
VIEW_APPLICATIONS = _action(
    "applications.view",
    "查看数据使用申请",
    B,
    OC,
    OR,
    Grant(DO, Match.DEPARTMENT),
    Grant(MU, Match.MERCHANT),
)
VIEW_REPORTS = _action("reports.view", "查看监督报告", B, OC, OR, EN)
VIEW_CATALOG = _action("catalog.view", "查看公开的资源目录", B, CO, DO, OC, OR, MU, EN)
VIEW_EXPORTS = _action("exports.view", "查看出域申请", B, OC, OR, Grant(MU, Match.MERCHANT))
VIEW_INCIDENTS = _action("incidents.view", "查看安全事件", B, OC, OR)
VIEW_PRODUCTS = _action("products.view", "查看数据产品", B, OC, OR, Grant(MU, Match.MERCHANT))

# state-changing actions the accounts' table defines
ACKNOWLEDGE_TICKET = "tickets.acknowledge"
CLAIM_FIXED = "tickets.claim_fixed"
SUSPEND_SUPPLY = "supply.suspend"
RESUME_SUPPLY = "supply.resume"
DECIDE_MERCHANT = "merchants.decide"
COMPLY_APPLICATION = "applications.compliance"
REVIEW_APPLICATION = "applications.review"
SUBMIT_APPLICATION = "applications.submit"
QUERY_WORKSPACE = "workspace.query"
REQUEST_EXPORT = "exports.request"
REVIEW_EXPORT = "exports.review"
FILE_EXPORT = "exports.file"
REGISTER_PRODUCT = "products.register"
OPEN_INCIDENT = "incidents.open"
FIX_INCIDENT = "incidents.fix"
CLOSE_INCIDENT = "incidents.close"
