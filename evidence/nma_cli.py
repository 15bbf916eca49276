"""``sarcoma-evidence nma``: a network meta-analysis of the curated records (registered in :mod:`evidence.cli`).

Builds the network of one endpoint and measure (optionally one histotype, setting and line) through
:func:`meta.nma_records.nma_from_records` (the pooling plan's rules; trial names resolved to registry
ids through the trials vocabulary), fits every connected component, prints each league table (ratio
scale for HR/OR/RR), the P-scores, τ², the Q decomposition and the node-splitting tests, and with
``--out`` writes the league tables as CSV. A disconnected network is printed component by component.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

_out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
_err = Console(stderr=True, soft_wrap=True)
RATIO = ("HR", "OR", "RR")
NMA_STATUSES = ("accepted", "edited")
CSV_COLUMNS = ["component", "treat1", "treat2", "measure", "estimate", "ci_low", "ci_high", "log_estimate", "se",
               "p_value", "pscore_treat1", "pscore_treat2", "reference", "method", "tau2", "studies"]


def _fail(message: str, code: int = 2) -> None:
    _err.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(code)


def trial_resolver(name: str) -> str | None:
    """The registry id the trials vocabulary gives a trial name (``EORTC 62072`` → ``NCT00753688``)."""
    from evidence.vocabulary import VOCAB

    t = VOCAB.trial(name)
    return sorted(t.registry_ids)[0] if t is not None and t.registry_ids else None


def unknown_treatments(contrasts) -> list[str]:
    """A note for each treatment that is no agent (or combination) of the vocabulary, e.g. a question class."""
    from evidence.vocabulary import VOCAB

    names = sorted(set(contrasts["treat1"]) | set(contrasts["treat2"]))
    return [f"treatment {t!r} is not an agent of the vocabulary (a question class?): its node lumps every agent "
            "it stands for" for t in names if not all(VOCAB.is_agent(a) for a in str(t).split("+"))]


def load_frame(db: str | None, input_file: Path | None):
    """Records from ``--input`` or the store, as a DataFrame of the record schema."""
    import pandas as pd

    from evidence.errors import ImportFileError
    from evidence.io import read_records
    from evidence.schema import FIELDS
    from evidence.store import Store, resolve_url

    if input_file is not None:
        if db is not None:
            _fail("give either --db or --input, not both")
        try:
            return pd.DataFrame([r.to_dict() for r in read_records(input_file)], columns=list(FIELDS))
        except ImportFileError as exc:
            _fail(str(exc))
    url = resolve_url(db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        _fail(f"no store at {url}; build one with `sarcoma-evidence demo` or `import`, or pass --input")
    return Store(url).records_frame()


def league_rows(network, measure: str):
    """Every fitted component's league table as one DataFrame (the CSV of ``--out``)."""
    import numpy as np
    import pandas as pd

    frames = []
    for i, res in network.fits.items():
        lg = res.league(exp=False)
        ps = res.pscores
        df = pd.DataFrame({"component": i, "treat1": lg["treat1"], "treat2": lg["treat2"], "measure": measure})
        ratio = measure in RATIO
        for f in ("estimate", "ci_low", "ci_high"):
            df[f] = np.exp(lg[f]) if ratio else lg[f]
        df["log_estimate"] = lg["estimate"] if ratio else float("nan")
        df["se"], df["p_value"] = lg["se"], lg["p_value"]
        df["pscore_treat1"], df["pscore_treat2"] = lg["treat1"].map(ps), lg["treat2"].map(ps)
        df["reference"], df["method"], df["tau2"] = res.reference, res.method, res.tau2
        df["studies"] = len(res.network.blocks)
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CSV_COLUMNS)


def _print_fit(i: int, res, measure: str) -> None:
    ratio = measure in RATIO
    mat = res.league_matrix(exp=ratio)
    t = Table(title=f"Component {i}: league table, {measure} (row vs column), {res.method}, "
              f"{res.level * 100:g}% CI — {len(res.network.blocks)} trials, τ² = {res.tau2:.4g}")
    t.add_column("")
    for c in mat.columns:
        t.add_column(c, overflow="fold")
    for r in mat.index:
        t.add_row(r, *[str(v) for v in mat.loc[r]])
    _out.print(t)
    p = Table(title=f"P-scores ({'smaller' if res.small_values == 'good' else 'larger'} {measure} better)")
    p.add_column("treatment")
    p.add_column("P-score", justify="right")
    for name, val in res.pscores.items():
        p.add_row(name, f"{val:.3f}")
    _out.print(p)
    d = res.decomposition
    _out.print("Q: " + "; ".join(f"{k.replace('_', ' ')} {d.loc[k, 'q']:.2f} (df {int(d.loc[k, 'df'])}"
                                 + (f", p {d.loc[k, 'p_value']:.3g})" if d.loc[k, "df"] > 0 else ")")
                                 for k in d.index), markup=False)
    for row in res.split.to_dict("records"):
        _out.print(f"node split {row['treat1']} vs {row['treat2']}: direct {row['direct']:.3f}, indirect "
                   f"{row['indirect']:.3f} (log scale), difference p = {row['p_value']:.3g}", markup=False)


def nma_command(
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store "
                                           "(default: $SARCOMA_EVIDENCE_DB, else sqlite:///evidence.db)")] = None,
    input_file: Annotated[Path | None, typer.Option("--input", help="CSV, JSONL or Parquet of records")] = None,
    endpoint: Annotated[str, typer.Option(help="endpoint, e.g. OS or PFS")] = "OS",
    measure: Annotated[str, typer.Option(help="HR, OR or RR")] = "HR",
    histotype: Annotated[str | None, typer.Option(help="only records whose population includes it")] = None,
    setting: Annotated[str | None, typer.Option(help="advanced, adjuvant, neoadjuvant or localized")] = None,
    line: Annotated[str | None, typer.Option(help="first or second_plus")] = None,
    method: Annotated[str, typer.Option(help="REML, ML, DL or FE (common effect)")] = "REML",
    reference: Annotated[str | None, typer.Option(help="reference treatment (default: the most studied)")] = None,
    small_values: Annotated[str, typer.Option("--small-values", help="good (e.g. HR of death) or bad")] = "good",
    status: Annotated[list[str] | None, typer.Option(help="statuses to use (repeatable; default accepted, "
                                                     "edited)")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write the league tables as CSV")] = None,
) -> None:
    """Network meta-analysis of one endpoint and measure (league table, P-scores, inconsistency)."""
    from meta.nma_records import nma_from_records

    if measure not in RATIO:
        _fail(f"unknown --measure {measure!r}; choose one of {', '.join(RATIO)}")
    if out_file is not None and not out_file.resolve().parent.is_dir():
        _fail(f"--out {out_file}: folder {out_file.resolve().parent} does not exist")
    frame = load_frame(db, input_file)
    try:
        net = nma_from_records(frame, histotype=histotype, setting=setting, line=line, endpoint=endpoint,
                               measure=measure, method=method, reference=reference, small_values=small_values,
                               statuses=tuple(status or NMA_STATUSES), trial_resolver=trial_resolver)
    except ValueError as exc:
        _fail(str(exc))
    if net.contrasts.empty:
        _fail(f"no {endpoint} {measure} contrasts in scope ({len(net.excluded)} records excluded)")
    for i, part in enumerate(net.components):
        if i in net.fits:
            _print_fit(i, net.fits[i], measure)
        else:
            _out.print(f"Component {i}: {', '.join(part)} (not fitted)", markup=False)
    for note in [*net.notes, *unknown_treatments(net.contrasts)]:
        _err.print(f"note: {note}", markup=False)
    if net.excluded:
        _err.print(f"{len(net.excluded)} record(s) excluded:", markup=False)
        for x in net.excluded:
            _err.print(f"  {x['record_id']}: {x['reason']}", markup=False)
    if out_file is not None:
        league_rows(net, measure).to_csv(out_file, index=False, columns=CSV_COLUMNS)
        _err.print(f"wrote the league tables of {len(net.fits)} component(s) to {out_file}", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``nma`` to the main CLI."""
    app.command("nma")(nma_command)
