"""Console-script entry point of ``sarcoma-evidence``: ``extract`` starts without loading the rest.

``sarcoma-evidence extract ...`` runs :func:`evidence.extract_cli.extract` from a one-command Typer app
(no store, SQLAlchemy, Alembic or pandas imported); every other command goes to :func:`evidence.cli.main`.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Dispatch on the first argument."""
    if sys.argv[1:2] == ["extract"]:
        import typer

        from evidence.errors import EvidenceError
        from evidence.extract_cli import err, extract

        app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        app.callback()(lambda: None)  # a group, so that the command keeps its name: `sarcoma-evidence extract`
        app.command("extract")(extract)
        try:
            app(prog_name="sarcoma-evidence")
        except EvidenceError as exc:
            err.print(f"error: {exc}", markup=False, highlight=False)
            sys.exit(2)
        except Exception as exc:  # a bug: one line and exit 3 (1 means "some inputs failed"), as evidence.cli.main
            from evidence.safe_text import one_line

            err.print(f"error: unexpected {type(exc).__name__}: {one_line(str(exc))[:300]} (a bug, please report it; "
                      "rerun as `sarcoma-evidence --debug extract …` for the traceback)", markup=False, highlight=False)
            sys.exit(3)
        return
    from evidence.cli import main as full_main

    full_main()


if __name__ == "__main__":
    main()
