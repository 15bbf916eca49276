"""``python -m dashboards.serve run dashboards/app.py …`` — ``streamlit run`` with the dashboard's heavy imports
warmed while the server starts (issue 15, first load).

A fresh server's first page used to spend most of its time importing scipy, pandas, SQLAlchemy, plotly,
matplotlib and the project's packages inside the first script run (profile in bench/RESULTS.md, "dashboard
first load and screenshots"). Streamlit runs the app in this same process, so modules imported here are
already in ``sys.modules`` when the first visitor arrives. The imports run before the server starts (a
thread importing pandas while Streamlit imports it too hands out half-initialised modules), so the server
answers its health check a few seconds later and its first page that much sooner. Only modules that do not
use Streamlit's caches are imported here (those bind their cache to the runtime, which starts later).
"""

from __future__ import annotations

import importlib
import os
import sys

PRELOAD = ("numpy", "pandas", "scipy.stats", "sqlalchemy", "plotly.graph_objects", "matplotlib.pyplot", "docx",
           "meta", "meta.nma", "evidence.store", "evidence.sof", "evidence.grading", "evidence.reviewers",
           "evidence.vocabulary", "evidence.trial_aliases", "dashboards.views", "dashboards.analysis",
           "dashboards.certainty_view", "dashboards.question_view")


def warm(modules: tuple[str, ...] = PRELOAD) -> list[str]:
    """Import ``modules`` (failures are left for the app to report); returns those imported."""
    done = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the app itself reports a broken import, with its page
            continue
        done.append(name)
    return done


def main() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    warm()
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
