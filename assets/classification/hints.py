"""What a column's names (the canonical column, the delivered Chinese header …) say it holds: the
personal-data types their words point to, for ``detectors.detect_column`` to weigh with the values."""

from __future__ import annotations

import re

_HINTS: dict[str, str] = {
    "cn_id_number": r"公民身份号码|身份证|身份号码|证件号|id_?(?:number|num|no|card)|idcard|sfzh?",
    "uscc": r"统一社会信用代码|社会信用代码|信用代码|uscc|credit_?code",
    "bank_card": (
        r"银行卡|卡号|银行账号|银行账户|账号|bank_?card|card_?(?:no|num|number)|account_?(?:no|number)"
    ),
    "cn_mobile_phone": r"手机|移动电话|电话|联系方式|联系号码|mobile|phone|(?:^|_)tel(?:$|_)|sjh",
    "email": r"邮箱|电子邮件|电子信箱|e_?mail|mail",
    "person_name": (
        r"姓名|名字|名称|权利人|法定代表人|法人代表|负责人|联系人|户主|领取人|申请人|信访人|参保人"
        r"|持卡人|name|legal_rep"
    ),
    "address": r"地址|住址|住所|坐落|居住地|户籍地|address|addr|location|domicile",
}
_HINT_EXCLUDED: dict[str, str] = {
    "cn_mobile_phone": r"固定电话|座机|传真|办公电话|landline|fax",
    "bank_card": r"社保|医保|就诊|social|medical",
    "person_name": (
        r"企业|机构|单位|公司|组织|部门|项目|产品|商品|店铺|商户|医院|学校|文件|银行|险种|类型"
        r"|entity|institution|company|org|product|project|file|dept|bank|type"
    ),
    "address": r"邮箱|email|mail|ip|网址|url|web",
}


def name_hints(*names: str) -> dict[str, str]:
    """Types the column's names (canonical column, Chinese header …) point to, with the words that did."""
    found: dict[str, str] = {}
    for name in names:
        if not name:
            continue
        lowered = str(name).lower()
        for pii_type, pattern in _HINTS.items():
            hit = re.search(pattern, lowered)
            excluded = _HINT_EXCLUDED.get(pii_type)
            if hit and not (excluded and re.search(excluded, lowered)):
                found.setdefault(pii_type, hit.group(0).strip("_"))
    return found
