"""``sarcoma-evidence pool``: every cell of the evidence table by the pooling plan (DESIGN.md "Pooling
plan rules (round 2)"), with its exclusions, the model each cell used and k, and ``--subgroup KEY``
(:func:`meta.subgroup_test` across the levels of KEY within each remaining cell).

Defaults are the plan's: reviewed records (``accepted``/``edited``), unflagged, primary studies, the
few-study model per cell; ``--statuses``/``--status`` and ``--include-flagged`` widen on purpose,
``--method``/``--test`` fix one model for every cell. The trials vocabulary
(``evidence/vocab/trials.jsonl``) identifies a trial across its registry record and its papers; the
comparison classes (``evidence/vocab/comparison_classes.json``, :mod:`meta.classes`) pool trials of
different agents that answer one committee question (an active drug against placebo or best supportive
care) under that class, and the real comparisons behind each such cell are printed under the table;
``--by-agent`` pools every agent on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from evidence.errors import ImportFileError
from evidence.extract_cli import check_out, err, fail
from evidence.io import read_records
from evidence.trial_aliases import trial_aliases

#: Keys `pool --by` accepts: the histotype group and the record fields that name a population,
#: treatment, outcome or design (DESIGN.md "Pooling plan").
POOL_KEYS = ("histotype", "intervention", "comparator", "endpoint", "measure", "arm", "timepoint_months",
             "setting", "line", "phase", "randomized", "trial", "source_id", "year", "unit", "status",
             "subgroup", "subgroup_label", "design", "factor", "factor_level", "factor_reference", "adjusted")
#: ``pool --by`` for prognostic-factor questions (adjusted and crude estimates never mixed)
PROGNOSTIC_BY = "factor,factor_level,factor_reference,endpoint,measure,adjusted"
POOL_DEFAULT_BY = "histotype,intervention,comparator,endpoint,measure,setting,line"
POOL_STATUSES = ("accepted", "edited")
MULTI_ARM = ("combine", "split")


def pool_records(frame: Any, *, classes: bool = True, **options: Any) -> Any:
    """:func:`meta.pool_table` with the project's plan (the trials vocabulary and, unless ``classes`` is
    false, the comparison classes of ``evidence/vocab/comparison_classes.json``): what ``pool``, ``demo``
    and the dashboard show."""
    from evidence.comparison_classes import plan_options
    from meta.table import pool_table

    return pool_table(frame, **plan_options(classes), **options)


def _fmt(x: object, spec: str = ".2f") -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if v != v else format(v, spec)


#: A τ² below this, relative to max(1, SE²) of the pooled estimate, is numerically zero (REML/ML stop when a
#: Fisher-scoring step is below 1e-10, so an estimate at the boundary can end at 8.7e-12 instead of 0).
TAU2_ZERO = 1e-10


def _fmt_tau2(tau2: object, se: object = None) -> str:
    """τ² for the table: ``0`` where it is numerically zero (the stored number is not changed)."""
    try:
        t, s = float(tau2), float(se) if se is not None else 0.0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if t != t:
        return ""
    scale = max(1.0, s * s) if s == s else 1.0
    return "0" if abs(t) < TAU2_ZERO * scale else format(t, ".3g")


def _short_model(r: Any) -> str:
    """The model of a cell in a few words (the full label is the ``model`` column of --out)."""
    method, test, pi = str(r.get("method", "")), str(r.get("test", "")), str(r.get("pi", ""))
    if method == "FE":
        return "common effect"
    hksj = {"adhoc": "HKSJ-adhoc", "knha": "HKSJ", "z": "z"}.get(test, test)
    return f"{method}+{hksj}" + (f", {pi} PI" if pi else "")


def pooled_table(table: Any, by: list[str], title: str) -> Table:
    """The pooled cells (k ≥ 2): estimate [CI] on the reporting scale (ratios, proportions, medians in
    months as a geometric mean), k, the model of the cell, I², τ², p."""
    t = Table(title=title)
    pooled = table[table["k"] >= 2] if len(table) else table
    for col in (*by, "k", "model", "estimate [CI]", "I²", "τ²", "p"):
        # keys and numbers whole (the model wraps): a name cut short names another cell
        width = max([len(col), *(len(str(v)) for v in pooled[col])]) if col in by and len(pooled) else None
        t.add_column(col, justify="right" if col in ("k", "I²", "τ²", "p") else "left",
                     no_wrap=col != "model", min_width=min(width, 32) if width else None)
    for _, r in pooled.iterrows():
        est = f"{_fmt(r['estimate_exp'])} [{_fmt(r['ci_low_exp'])}, {_fmt(r['ci_high_exp'])}]"
        if r["scale"] in ("months", "log_months"):
            est += " mo"
        p = float(r["p_value"])
        model = _short_model(r)
        t.add_row(*(str(r[k]) for k in by), str(r["k"]), model, est, _fmt(r["i2"], ".0f") + "%",
                  _fmt_tau2(r["tau2"], r.get("se")), "<0.001" if p < 0.001 else _fmt(p, ".3f"))
    n_single = int((table["k"] == 1).sum()) if len(table) else 0
    t.caption = (f"{len(pooled)} pooled cells (k ≥ 2); {n_single} single-study cells not shown; "
                 f"{len(table.attrs.get('excluded', []))} records not pooled (listed on stderr)")
    return t


#: Columns ``pool_table(studies=True)`` adds for each contribution (dropped again before output).
STUDY_COLUMNS = ("yi", "vi", "study_n", "study_record_ids")


def bayes_table(table: Any, by: list[str]) -> Table:
    """The Bayesian pool of the few-study cells (``--bayes``): posterior median [95% CrI] and PI on the
    reporting scale, and the posterior median of τ."""
    t = Table(title="Bayesian random effects beside the few-study default (half-normal(0.5) prior on τ, flat "
                    "prior on μ; meta.bayes_pool)")
    for col in (*by, "k", "median [CrI]", "PI", "τ median"):
        t.add_column(col, justify="right" if col in ("k", "τ median") else "left")
    cells = table[table["bayes_model"].fillna("") != ""] if len(table) else table
    for _, r in cells.iterrows():
        if r["bayes_estimate"] == r["bayes_estimate"]:
            est = f"{_fmt(r['bayes_estimate_exp'])} [{_fmt(r['bayes_ci_low_exp'])}, {_fmt(r['bayes_ci_high_exp'])}]"
            pi = f"{_fmt(r['bayes_pi_low_exp'])}, {_fmt(r['bayes_pi_high_exp'])}"
            tau = _fmt(r["bayes_tau_median"], ".3f")
        else:
            est, pi, tau = str(r["bayes_model"]), "", ""
        t.add_row(*(str(r[k]) for k in by), str(r["k"]), est, pi, tau)
    n = int(cells["bayes_estimate"].notna().sum()) if len(cells) else 0
    t.caption = f"{n} cells of k = 2–4 on the log-ratio scale"
    return t


def print_exclusions(table: Any, console: Console, limit: int = 50) -> None:
    """Each record left out with its reason (the first ``limit``), and the published syntheses."""
    excluded = table.attrs.get("excluded", [])
    if excluded:
        console.print(f"{len(excluded)} records not pooled:", markup=False, highlight=False)
        for e in excluded[:limit]:
            console.print(f"  {e['record_id']}: {e['reason']}", markup=False, highlight=False)
        if len(excluded) > limit:
            console.print(f"  … and {len(excluded) - limit} more (--out FILE.json keeps them all in the bundle "
                          "manifest with --bundle)", markup=False, highlight=False)
    syn = table.attrs.get("syntheses", [])
    if syn:
        console.print(f"{len(syn)} published syntheses shown beside the pooled estimates (not pooled):",
                      markup=False, highlight=False)
        for s in syn[:limit]:
            console.print(f"  {s.get('record_id')}: {s.get('design')} {s.get('trial') or s.get('source_id')} "
                          f"{s.get('endpoint')} {s.get('measure')} {s.get('value')}", markup=False, highlight=False)


def class_members(table: Any, by: list[str]) -> list[str]:
    """One line per pooled cell (k ≥ 2) of a comparison class: its keys and the real comparisons in it."""
    if "comparison_class" not in table.columns or not len(table):
        return []
    cls = table[(table["k"] >= 2) & (table["comparison_class"].fillna("") != "")]
    return [" · ".join(str(r[k]) for k in by) + ": " + "; ".join(r["agents"]) for _, r in cls.iterrows()]


def subgroup_tests(frame: Any, key: str, by: list[str], options: dict[str, Any]) -> Table:
    """:func:`meta.subgroup_test` across the levels of ``key`` within every cell of the other keys.

    Each level is a cell of the plan (``by`` + ``key``: one contribution per trial, the plan's records);
    its studies' effects enter :func:`meta.subgroup_test`, which pools each level with its own τ²
    (``--method``, REML by default) and compares the levels with a fixed-effect Q.
    """
    from meta import subgroup_test

    if key in by:
        fail(f"--subgroup {key}: it is also a --by key; a subgroup test compares the levels of one other key")
    method, test = options.get("method") or "REML", options.get("test") or "z"
    table = pool_records(frame, **{**options, "by": [*by, key]}, studies=True)
    t = Table(title=f"Tests for subgroup differences by {key} (each level pooled with its own τ², {method}, "
                    f"test {test}; then a fixed-effect Q across levels)")
    for col in (*by, f"{key} levels", "k", "Q_between", "df", "p"):
        t.add_column(col, justify="right" if col in ("k", "Q_between", "df", "p") else "left")
    if table.empty:
        return t
    cell_keys = [*by, "scale", "timepoint_months"]
    for cell, grp in table.groupby(cell_keys, sort=True, dropna=False):
        if grp[key].nunique() < 2:
            continue
        yi = [y for ys in grp["yi"] for y in ys]
        vi = [v for vs in grp["vi"] for v in vs]
        labels = [str(lv) for lv, ys in zip(grp[key], grp["yi"], strict=True) for _ in ys]
        res = subgroup_test(yi, vi, labels, method=method if method != "FE" else "REML", test=test)
        t.add_row(*(str(v) for v in cell[: len(by)]), ", ".join(sorted(set(labels))), str(len(yi)),
                  _fmt(res.q_between, ".3f"), str(res.df), _fmt(res.p_value, ".3g"))
    return t


def pool_command(
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store (default: "
                                           "$SARCOMA_EVIDENCE_DB, else sqlite:///evidence.db)")] = None,
    input_file: Annotated[Path | None, typer.Option("--input", help="CSV, JSONL or Parquet of records "
                                                    "(instead of the store)")] = None,
    by: Annotated[str, typer.Option(help=f"comma-separated grouping keys, from: {', '.join(POOL_KEYS)} "
                                         "(measure is always one)")] = POOL_DEFAULT_BY,
    method: Annotated[str | None, typer.Option(help="model for every cell: FE, DL, REML, ML, PM, HE, SJ, HS or "
                                                    "EB (default: the few-study model per cell)")] = None,
    test: Annotated[str | None, typer.Option(help="z, knha (Hartung–Knapp–Sidik–Jonkman) or adhoc (default: "
                                                  "the few-study model per cell)")] = None,
    level: Annotated[float, typer.Option(help="confidence level, in (0, 1)")] = 0.95,
    rollup: Annotated[bool, typer.Option("--rollup", help="also pool each histotype subtype into its parent")]
    = False,
    status: Annotated[list[str] | None, typer.Option(help="only these statuses (repeatable)")] = None,
    statuses: Annotated[str | None, typer.Option(help="comma-separated statuses to pool (default: "
                                                      "accepted,edited)")] = None,
    include_flagged: Annotated[bool, typer.Option("--include-flagged", help="also pool records flagged "
                                                  "hr_not_log_midpoint, p_disagrees_with_ci or value_outside_ci")]
    = False,
    multi_arm: Annotated[str, typer.Option("--multi-arm", help="a multi-arm trial against a shared comparator: "
                                           "combine its arms or split the shared comparator (Cochrane 23.3.4)")]
    = "combine",
    by_agent: Annotated[bool, typer.Option("--by-agent", help="pool each agent on its own, without the comparison "
                                           "classes (evidence/vocab/comparison_classes.json)")] = False,
    bayes: Annotated[bool, typer.Option("--bayes", help="also pool each cell of k = 2-4 on the log-ratio scale "
                                        "with Bayesian random effects (half-normal(0.5) prior on tau, "
                                        "meta.bayes_pool), beside the few-study default")] = False,
    subgroup: Annotated[str | None, typer.Option("--subgroup", help="also test for subgroup differences by KEY "
                                                 "within each cell (meta.subgroup_test)")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write the table to FILE (default: print it)")]
    = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv or json (default: --out's suffix, else csv)")]
    = None,
    bundle: Annotated[Path | None, typer.Option("--bundle", help="also write a reproducibility bundle "
                                                "(records, manifest, results, recompute.py) to DIR")] = None,
) -> None:
    """Pool every cell of the evidence table (DESIGN.md "Pooling plan"): reviewed, unflagged primary
    studies, one contribution per trial, the few-study model per cell, comparisons of one question class
    pooled under it (``--by-agent``: never); exclusions listed on stderr."""
    import pandas as pd

    from evidence.cli import existing_store_url, out, read_store
    from evidence.schema import FIELDS, STATUSES
    from evidence.vocabulary import VOCAB
    from meta.bundle import results_csv, results_json, write_bundle

    keys = [k.strip() for k in by.split(",") if k.strip()]
    bad = [k for k in keys if k not in POOL_KEYS]
    if not keys or bad:
        fail(f"unknown --by key {bad[0]!r}; allowed: {', '.join(POOL_KEYS)}" if bad else
             f"--by needs at least one key; allowed: {', '.join(POOL_KEYS)}")
    if len(set(keys)) != len(keys):
        fail(f"--by names a key twice: {by}")
    if subgroup is not None and subgroup not in POOL_KEYS:
        fail(f"unknown --subgroup key {subgroup!r}; allowed: {', '.join(POOL_KEYS)}")
    if multi_arm not in MULTI_ARM:
        fail(f"unknown --multi-arm {multi_arm!r}; choose {' or '.join(MULTI_ARM)}")
    chosen = [*(status or []), *(s.strip() for s in (statuses or "").split(",") if s.strip())]
    chosen = list(dict.fromkeys(chosen)) or list(POOL_STATUSES)
    if any(s not in STATUSES for s in chosen):
        fail(f"unknown --status {next(s for s in chosen if s not in STATUSES)!r}; choose from {', '.join(STATUSES)}")
    check_out(out_file)
    fmt = fmt or ("json" if out_file and out_file.suffix.lower() == ".json" else "csv")
    if fmt not in ("csv", "json"):
        fail(f"unknown --format {fmt!r}; choose csv or json")
    if input_file is not None:
        if db is not None:
            fail("give either --db or --input, not both")
        try:
            recs = [r.to_dict() for r in read_records(input_file)]
        except ImportFileError as exc:
            fail(str(exc))
        frame, source = pd.DataFrame(recs, columns=list(FIELDS)), str(input_file)
    else:
        url = existing_store_url(db, "--input")
        frame, source = read_store(url).records_frame(), url
    options: dict[str, Any] = {"by": keys, "method": method, "test": test, "level": level, "rollup": rollup,
                               "parents": VOCAB.parents if rollup else None, "statuses": chosen}
    plan = {"include_flagged": include_flagged, "multi_arm": multi_arm, "classes": not by_agent}
    try:
        table = pool_records(frame, **options, **plan, **({"studies": True} if bayes else {}))
        if bayes:
            from meta.bayes_cells import bayes_cells

            table = bayes_cells(table).drop(columns=list(STUDY_COLUMNS), errors="ignore")
        tests = subgroup_tests(frame, subgroup, keys, {**options, **plan}) if subgroup else None
    except ValueError as exc:
        fail(str(exc))
    model = f"{method or 'few-study defaults'}{', ' + test if test else ''}"
    if out_file is not None:
        out_file.write_bytes(results_csv(table, keys) if fmt == "csv" else results_json(table, keys))
        err.print(f"wrote {len(table)} cells ({int((table['k'] >= 2).sum()) if len(table) else 0} pooled) "
                  f"from {len(frame)} records of {source} to {out_file}", markup=False)
    else:
        out.print(pooled_table(table, keys, f"Pooled estimates ({model}, {level * 100:g}% CI) — {source}"))
        if bayes:
            out.print(bayes_table(table, keys))
        members = class_members(table, keys)
        if members:
            out.print("Comparison classes (evidence/vocab/comparison_classes.json; --by-agent pools each agent "
                      "alone), the trials' real comparisons:", markup=False, highlight=False)
            for line in members:
                out.print("  " + line, markup=False, highlight=False)
    if tests is not None:
        out.print(tests)
    print_exclusions(table, err)
    if bundle is not None:
        from evidence.comparison_classes import class_entries

        m = write_bundle(frame, bundle, **options,
                         plan={**plan, "trial_aliases": trial_aliases(),
                               "classes": list(class_entries()) if not by_agent else None})
        err.print(f"wrote a bundle of {m.n_records} records and {m.n_cells} cells to {bundle} "
                  f"(records.csv sha256 {m.records_sha256[:12]}…); rerun: python {bundle / 'recompute.py'} OUT.csv",
                  markup=False)


def register(app: typer.Typer) -> None:
    """Add ``pool`` to the main CLI."""
    app.command("pool")(pool_command)


__all__ = ["POOL_DEFAULT_BY", "POOL_KEYS", "POOL_STATUSES", "STUDY_COLUMNS", "bayes_table", "class_members",
           "pool_command", "pool_records",
           "pooled_table",
           "print_exclusions", "register", "subgroup_tests", "trial_aliases"]
