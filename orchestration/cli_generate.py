"""The options ``publicdata generate`` and ``demo`` share: how many rows, which seed and day, the defect
rate, periods, and the delivery shapes departments really send (``--shapes``)."""

from __future__ import annotations

import click


def _shapes(_: click.Context, __: click.Parameter, value: str) -> tuple[str, ...]:
    from assets.landing.generator.shapes import parse_shapes

    try:
        return parse_shapes(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


generate_options = [
    click.option(
        "--rows",
        type=click.IntRange(min=1),
        default=2000,
        show_default=True,
        help="总行数（分布到各数据集、县区、期）",
    ),
    click.option(
        "--seed",
        type=int,
        default=20261127,
        show_default=True,
        help="随机种子（同一种子得到同样的文件）",
    ),
    click.option(
        "--as-of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="以哪一天为“今天”（默认今天）",
    ),
    click.option(
        "--defect-rate",
        type=click.FloatRange(0, 0.5),
        default=0.03,
        show_default=True,
        help="注入缺陷的行比例",
    ),
    click.option(
        "--periods",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="每个数据集生成最近几期",
    ),
    click.option(
        "--shapes",
        default="",
        callback=_shapes,
        help="按部门实际导出的形态生成约一半文件：all 或 title_rows,total_row,extra_columns,"
        "excel_numeric,xls（标题行、合计行、多余列、Excel 数值化的身份证号、.xls）",
    ),
]


def _with(options):
    def decorate(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate
