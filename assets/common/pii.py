"""The personal-data vocabulary (个人信息类型) of the whole project, declared once: what the catalog may
declare for an item (``pii``), what the detectors recognise, what masking, desensitization and the leak
scan act on."""

from __future__ import annotations

from typing import Literal, get_args

# In the catalog's order: registration errors list the allowed values in this order.
PiiType = Literal[
    "cn_id_number", "cn_mobile_phone", "bank_card", "uscc", "person_name", "address", "email"
]

PII_LABELS: dict[PiiType, str] = {
    "cn_id_number": "公民身份号码",
    "uscc": "统一社会信用代码",
    "bank_card": "银行卡号",
    "cn_mobile_phone": "手机号码",
    "email": "电子邮箱",
    "person_name": "姓名",
    "address": "地址",
}
"""Chinese labels, most specific type first (detection breaks ties between equally confident types
in this order)."""

PII_TYPES: tuple[PiiType, ...] = tuple(PII_LABELS)
if set(PII_TYPES) != set(
    get_args(PiiType)
):  # pragma: no cover - a vocabulary edited in one place only
    raise RuntimeError("PII_LABELS must name every PiiType")

# Identifiers that name a person by themselves (GB/T 35273 直接标识符).
DIRECT_IDENTIFIERS: tuple[PiiType, ...] = (
    "cn_id_number",
    "cn_mobile_phone",
    "bank_card",
    "person_name",
)

# Types whose cleartext value on the operation platform is a leak (the blocking leak scan).
LEAK_TYPES: tuple[PiiType, ...] = ("cn_id_number", "cn_mobile_phone", "bank_card")

# A catalog format that by itself says what personal data a column holds, when `pii` is not declared.
FORMAT_PII: dict[str, PiiType] = {
    "cn_id_number": "cn_id_number",
    "id_or_uscc": "cn_id_number",
    "cn_mobile": "cn_mobile_phone",
    "bank_card": "bank_card",
}
