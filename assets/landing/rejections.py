"""What the landing reader refuses: a whole file (:class:`FileRejected`) or one row
(:class:`RowRejection`), each with a reason code for machines and a reason in Chinese a department
official can act on. Reasons never quote cell values (they may be personal data)."""

from __future__ import annotations

from dataclasses import dataclass

# Whole-file rejection reasons (FileRejected.reason_code).
EMPTY_FILE = "empty_file"
ENCODING = "encoding"
TRUNCATED = "truncated"
CORRUPT = "corrupt"
HEADER = "header"
MISSING_COLUMN = "missing_column"
DUPLICATE_COLUMN = "duplicate_column"
TOO_LARGE = "too_large"  # past a read limit (assets/landing/limits.py)
UNBALANCED_QUOTE = "unbalanced_quote"  # a quote left open swallowed the lines after it
# Row rejection reasons (RowRejection.reason_code).
FIELD_COUNT = "field_count"
BLANK_ROW = "blank_row"
EXCEL_NUMERIC = "excel_numeric"  # an identifier Excel stored as a number lost digits
# Rows skipped on purpose, not data and not a defect (RowRejection in LandingRead.skipped).
TITLE_ROW = (
    "title_row"  # above the header: a title such as “2026年10月海原县户籍人口信息”, or blank
)
TOTAL_ROW = "total_row"  # a 合计 / 总计 / 小计 row

# the row reasons in a department official's words, for logs and summaries
ROW_REASON_LABELS = {
    FIELD_COUNT: "列数与表头不符",
    BLANK_ROW: "空行",
    EXCEL_NUMERIC: "Excel 数值化导致精度丢失",
    TITLE_ROW: "标题行",
    TOTAL_ROW: "合计行",
}


def describe_counts(counts: dict[str, int]) -> str:
    """``{"field_count": 3, "blank_row": 1}`` as ``列数与表头不符 3 行、空行 1 行`` (a code without
    a label stays as its code)."""
    return "、".join(
        f"{ROW_REASON_LABELS.get(code, code)} {count:,} 行"
        for code, count in sorted(counts.items())
    )


@dataclass(frozen=True)
class RowRejection:
    """A row rejected (a defect the department fixes) or skipped (a title or total row)."""

    source_row: int
    reason_code: str
    reason: str


class FileRejected(Exception):
    """The whole file is refused; ``reason`` (Chinese) tells the department what to fix."""

    def __init__(self, reason_code: str, reason: str) -> None:
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason


def empty_file(detail: str = "没有表头，也没有数据") -> FileRejected:
    return FileRejected(EMPTY_FILE, f"文件为空：{detail}")


def truncated_text() -> FileRejected:
    return FileRejected(
        TRUNCATED,
        "文件不完整：结尾断在一个字符的中间，可能上传或复制时被截断，请重新提交完整文件",
    )
