"""``publicdata portal``: the web portal on a data directory (http://127.0.0.1:3001 by default)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from orchestration.settings import Settings

err = Console(stderr=True)


@click.command("portal")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="数据目录（默认 PUBLICDATA_HOME，否则 ./data）",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", type=int, default=3001, show_default=True, help="端口")
def portal(data_dir: Path | None, host: str, port: int) -> None:
    """启动门户网站（数源部门、县区、数据局、运营单位和数据商使用）。"""
    import uvicorn

    from orchestration.portal.app import create_app

    settings = Settings.load(data_dir)
    if problem := settings.missing_data_dir():
        raise click.ClickException(problem)
    app = create_app(settings)
    err.print(
        f"门户: http://{host}:{port}  （数据目录 {settings.data_dir}；"
        f"Dagster UI {settings.dagster_ui_url}）"
    )
    if not settings.portal_secure_cookies and host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            "[yellow]提示[/] 对外提供服务时请经 HTTPS 反向代理，并设置 "
            "PUBLICDATA_PORTAL_SECURE_COOKIES=1"
        )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
    )
