"""The ``publicdata`` command's entry point (``pyproject.toml``), apart from ``cli.py`` so that it runs
before the command's imports: the garbage collector waits while they load
(``memory.collect_rarely_while_starting``), then ``cli.entry`` runs the command.
``python -m orchestration.console`` is the same command."""

from orchestration.memory import collect_rarely_while_starting


def entry() -> None:
    collect_rarely_while_starting()
    from orchestration.cli import entry as command

    command()


if __name__ == "__main__":
    entry()
