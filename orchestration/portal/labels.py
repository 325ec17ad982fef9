"""Chinese words for the codes the platform records store (English codes for machines, Chinese for
people)."""

from __future__ import annotations

TRANSFORMATIONS = {
    "masked": "掩码",
    "pseudonymized": "假名化（HMAC-SM3）",
    "generalized": "泛化",
    "kept": "保留原值",
    "suppressed": "删除（不发布）",
}

PUBLICATION_STATUS = {
    "published": "已发布",
    "suspended": "暂停供给",
    "withdrawn": "已撤回",
    "resumed": "已恢复（待下次运行发布）",
    "prohibited": "禁止开放（不进入运营平台）",
}

RUN_STATUS = {
    "SUCCESS": "成功",
    "FAILURE": "失败",
    "STARTED": "运行中",
    "STARTING": "启动中",
    "QUEUED": "排队中",
    "NOT_STARTED": "未开始",
    "CANCELED": "已取消",
    "CANCELING": "取消中",
    "MANAGED": "外部管理",
}

CHECKS = {
    "quality_suite": "质量规则（Great Expectations）",
    "freshness": "时效性（更新频率）",
    "reconciled": "治理对账（入 = 治理后 + 隔离 + 重复）",
    "no_cleartext_identifiers": "无明文身份证号、手机号、银行卡号",
    "k_anonymity": "k-匿名",
}

JOBS = {
    "govern_and_publish": "治理、分类分级、脱敏与发布",
    "catalog_publication": "资源目录发布",
    "catalog_freshness": "时效性检查",
    "quality_ticket_followup": "质量工单跟踪",
}

INGEST_STATUS = {"loaded": "已入库", "rejected": "整文件拒收"}

DIMENSIONS_HELP = "完整性、规范性、准确性、一致性、时效性、可访问性（GB/T 36344）"


def job(name: str) -> str:
    if name.startswith("ingest_"):
        return "县区交付入库"
    return JOBS.get(name, name)
