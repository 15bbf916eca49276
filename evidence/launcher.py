"""Console-script entry point of ``sarcoma-evidence``: ``extract`` starts without loading the rest.

``sarcoma-evidence extract ...`` runs :func:`evidence.extract_cli.extract` from a one-command Typer app
(no store, SQLAlchemy, Alembic or pandas imported, and spaCy without its own command line,
:func:`import_spacy_lean`); every other command goes to :func:`evidence.cli.main`.

Run as the console script, ``extract`` ends with :func:`os._exit` once its output is closed and stdout and
stderr are flushed (:func:`exit_now`): tearing down an interpreter that holds spaCy takes a few tenths of a
second and writes nothing. Called as a function (tests, ``python -m evidence.launcher``) it ends as before.
"""

from __future__ import annotations

import os
import sys
import types


def _console_script() -> bool:
    """True when this process is the installed ``sarcoma-evidence`` script (not a test calling :func:`main`)."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None) or ""
    return os.path.basename(main_file).removesuffix(".exe") == "sarcoma-evidence"


def exit_now(code: object) -> None:
    """End the process with ``code`` (as :func:`sys.exit` reads it) without the interpreter's teardown.

    Only when nothing is left for the teardown to do: stdout and stderr flush, no worker process is
    alive and no other thread runs (output files are closed by then: ``extract`` writes them in ``with``
    blocks). Otherwise it returns, and the caller exits as usual.
    """
    import multiprocessing
    import threading

    if not (code is None or isinstance(code, int)):  # sys.exit("message"): the usual way prints it
        return
    if multiprocessing.active_children() or threading.active_count() > 1:
        return
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a closed pipe: let the interpreter report it as it does
        return
    os._exit((code or 0) & 0xFF)


def import_spacy_lean() -> None:
    """Import spaCy without ``spacy.cli`` (its Typer app, weasel, requests, httpx, jinja2: about 0.1 s).

    ``spacy/__init__.py`` imports ``spacy.cli.info`` only to offer ``spacy.info``. While spaCy imports,
    placeholders stand for ``spacy.cli`` and ``spacy.cli.info``; they are removed as soon as it is
    imported, so a later ``import spacy.cli`` imports the real package, and so does a first call of
    ``spacy.info`` or any other name asked of a placeholder.
    """
    if "spacy" in sys.modules or "spacy.cli" in sys.modules:
        return
    stubs = {name: types.ModuleType(name) for name in ("spacy.cli", "spacy.cli.info")}

    def real(name: str) -> types.ModuleType:
        for key, stub in stubs.items():
            if sys.modules.get(key) is stub:
                del sys.modules[key]
        import importlib

        return importlib.import_module(name)

    def info(*args, **kwargs):
        return real("spacy.cli.info").info(*args, **kwargs)

    def forward(name: str):
        def attribute(attr: str):
            if attr.startswith("__"):  # the import system's questions (__path__ …): a placeholder's answers
                raise AttributeError(attr)
            return getattr(real(name), attr)
        return attribute

    for name, stub in stubs.items():
        stub.__getattr__ = forward(name)
    stubs["spacy.cli"].__path__ = []
    stubs["spacy.cli.info"].info = info
    sys.modules.update(stubs)
    try:
        import spacy
    finally:
        for key, stub in stubs.items():
            if sys.modules.get(key) is stub:
                del sys.modules[key]
    if getattr(spacy, "cli", None) is stubs["spacy.cli"]:
        del spacy.cli


def main() -> None:
    """Dispatch on the first argument."""
    if sys.argv[1:2] == ["extract"]:
        try:
            _extract_main()
        except SystemExit as exc:
            if _console_script():
                exit_now(exc.code)
            raise
        return
    from evidence.cli import main as full_main

    full_main()


def _extract_main() -> None:
    import_spacy_lean()
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


if __name__ == "__main__":
    main()
