"""Trial identity for the pooling plan (DESIGN.md "Pooling plan rules (round 2)").

A trial is its registry id (ClinicalTrials.gov ``NCT…``, EudraCT ``YYYY-NNNNNN-CC``, ``ISRCTN…``,
``jRCT…``), else its normalised name, else the source. Ids and names are *tokens*; the tokens of one
record name one trial, so they are joined:

1. Every token is first mapped through ``trial_aliases`` (built by the caller from the trials
   vocabulary with :func:`trial_aliases_from_entries`: each name, alias and registry id → the trial's
   canonical token), so a ClinicalTrials.gov record ``NCT00753688`` and a paper with
   ``trial = "PALETTE"`` are one trial.
2. Registry ids stated together (in ``source_id``, ``trial`` or ``registry_ids`` of one record) are
   one trial.
3. A name stated beside registry ids of exactly one trial joins that trial; a name seen with the ids
   of two different trials is ambiguous and links nothing (it still identifies the records that give
   only that name).
4. A trial is labelled by its smallest ``NCT`` id, else its smallest other registry id, else
   ``trial:<normalised name>``; a record with no token is ``source:<source_id>``.

Names are normalised as DESIGN.md says: lower case, registry ids removed, the words "the", "trial",
"study" (and the registry words "EudraCT", "number", "no", "registration", "registry", "id") dropped,
then every character that is not a letter or digit ("PALETTE", "Palette trial" and "the palette study"
are ``trial:palette``; "EORTC 62072" is ``trial:eortc62072``).

Everything is computed on whole columns (pandas string methods, factorised codes); Python touches only
the distinct registry-id lists and the few records that state two tokens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["normalise_registry_id", "normalise_trial_name", "trial_aliases_from_entries", "trial_codes",
           "trial_identities", "trial_identity"]

#: One pattern per registry; a bare ``YYYY-NNNNNN-CC`` is an EudraCT number.
_REG_BODY = r"NCT\d{8}|ISRCTN ?\d{8}|jRCT\w?\d{7,10}|\d{4}-\d{6}-\d{2}"
_REG = rf"(?i)({_REG_BODY})"  # inline flag: pandas hands it to pyarrow's regex engine as it is
_REG_ANY = rf"(?i)(?:{_REG_BODY})"
_REG_RE = re.compile(_REG)
_STOP = r"\b(?:the|trial|study|eudract|number|no|registration|registry|id)\b"
_STOP_RE = re.compile(_STOP)
_NONALNUM = r"[^a-z0-9]+"


def normalise_registry_id(text: str) -> str:
    """``"nct00753688"`` → ``"NCT00753688"``, ``"ISRCTN 12345678"`` → ``"ISRCTN12345678"``,
    ``"EudraCT 2008-001234-12"`` → ``"EUDRACT:2008-001234-12"``; ``""`` when ``text`` holds no id.

    >>> normalise_registry_id("EudraCT no. 2008-001234-12"), normalise_registry_id("see nct00753688")
    ('EUDRACT:2008-001234-12', 'NCT00753688')
    """
    m = _REG_RE.search(str(text))
    return "" if m is None else _norm_id(m.group(1))


def _norm_id(raw: str) -> str:
    up = raw.upper().replace(" ", "")
    return f"EUDRACT:{up}" if up[:1].isdigit() else up


def normalise_trial_name(name: str) -> str:
    """The name token of a trial name (``""`` when nothing is left).

    >>> normalise_trial_name("Palette trial"), normalise_trial_name("EORTC-62072 study")
    ('trial:palette', 'trial:eortc62072')
    """
    s = _REG_RE.sub(" ", str(name).lower())
    s = re.sub(_NONALNUM, "", _STOP_RE.sub(" ", s))
    return f"trial:{s}" if s else ""


def trial_identity(source_id: Any, trial: Any) -> str:
    """One record's identity without the vocabulary or the other records: a registry id in
    ``source_id`` or ``trial``, else ``trial:<name as given>``, else ``source:<source_id>``.

    The scalar form kept for callers that fold names themselves (:mod:`meta.nma_records`);
    :func:`trial_codes` applies the full rules to a table.

    >>> trial_identity("PMID:1", "PALETTE (NCT00753688)"), trial_identity("PMID:1", "EORTC 62072")
    ('NCT00753688', 'trial:EORTC 62072')
    """
    for field in (source_id, trial):
        if isinstance(field, str) and (reg := normalise_registry_id(field)):
            return reg
    if isinstance(trial, str) and trial.strip():
        return f"trial:{trial.strip()}"
    return f"source:{source_id}"


def trial_aliases_from_entries(entries: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Token → canonical token, from trials-vocabulary entries ``{"name", "aliases", "registry_ids"}``.

    The canonical token of an entry is its first ``NCT`` id, else its first registry id, else its
    name token.

    >>> a = trial_aliases_from_entries([{"name": "PALETTE", "aliases": ["EORTC 62072"],
    ...                                  "registry_ids": ["NCT00753688"]}])
    >>> a["trial:palette"], a["trial:eortc62072"], a["NCT00753688"]
    ('NCT00753688', 'NCT00753688', 'NCT00753688')
    """
    out: dict[str, str] = {}
    for e in entries:
        ids = [i for i in (normalise_registry_id(x) for x in e.get("registry_ids") or ()) if i]
        names = [t for t in (normalise_trial_name(x) for x in [e.get("name") or "", *(e.get("aliases") or ())]) if t]
        if not ids and not names:
            continue
        nct = [i for i in ids if i.startswith("NCT")]
        canon = (nct or ids or names)[0]
        for tok in (*ids, *names):
            out.setdefault(tok, canon)
    return out


def _list_ids(value: Any) -> tuple[str, ...]:
    """Registry ids of one ``registry_ids`` cell: a list, a JSON array text, one id, or null."""
    if value is None or (isinstance(value, float) and value != value):
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                value = [text]
        else:
            value = [text]
    try:
        items = list(value)
    except TypeError:
        items = [value]
    return tuple(i for i in (normalise_registry_id(x) for x in items if x is not None) if i)


def _label(tokens: list[str]) -> str:
    nct = sorted(t for t in tokens if t.startswith("NCT"))
    reg = sorted(t for t in tokens if not t.startswith("trial:"))
    return (nct or reg or sorted(tokens))[0]


#: One pass over a lower-cased name: registry ids, the dropped words, every non-alphanumeric character.
_CLEAN = rf"(?i)(?:{_REG_BODY})|{_STOP}|{_NONALNUM}"


def _name_tokens(uniq: pd.Index | np.ndarray) -> np.ndarray:
    """Name token of each distinct trial name (object array, ``""`` when nothing is left)."""
    # one Arrow pass each: lower case, then drop ids, stop words and non-alphanumerics (the uniques of a
    # string column are already Arrow strings: no conversion)
    names = _strings(pd.Series(uniq)).str.lower().str.replace(_CLEAN, "", regex=True)
    text = names.to_numpy(dtype=object, na_value="")
    return np.where(text != "", np.add("trial:", text.astype(object)), "").astype(object)


def _strings(col: pd.Series) -> pd.Series:
    """``col`` as a pandas string column (as it is when it already is one: no copy)."""
    return col if pd.api.types.is_string_dtype(col.dtype) and col.dtype != object else col.astype("string")


def _mapped(tokens: np.ndarray, mapping: Mapping[str, str]) -> np.ndarray:
    """``tokens`` with each one found in ``mapping`` replaced (object array)."""
    if not mapping or not len(tokens):
        return tokens
    m = pd.Series(tokens, dtype=object).map(mapping)
    return np.where(m.notna().to_numpy(), m.to_numpy(dtype=object), tokens).astype(object)


def _registry_tokens(reg: pd.Series) -> dict[int, tuple[str, ...]]:
    """Row → the registry ids of its ``registry_ids`` cell (lists, JSON texts; empty cells cost nothing)."""
    if pd.api.types.is_string_dtype(reg.dtype) and reg.dtype != object:
        codes, uniq = pd.factorize(reg, use_na_sentinel=True)
        parsed = [_list_ids(u) for u in uniq]
        return {int(r): parsed[c] for r, c in enumerate(codes.tolist()) if c >= 0 and parsed[c]}
    a = reg.to_numpy(dtype=object)
    out = {}
    for r in np.flatnonzero(np.fromiter(map(bool, a), dtype=bool, count=len(a))):
        toks = _list_ids(a[r])
        if toks:
            out[int(r)] = toks
    return out


def _value_ids(uniq: pd.Index | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Which distinct values of a text column state a registry id (their positions) and that id."""
    text = _strings(pd.Series(uniq)).reset_index(drop=True)
    # a regex test per distinct value (Arrow), then the id extracted from the few that hold one
    hit = np.flatnonzero(text.str.contains(_REG_ANY, regex=True).fillna(False).to_numpy(dtype=bool))
    if not hit.size:
        return hit, []
    ids = text.iloc[hit].str.extract(_REG, expand=False).dropna()
    return ids.index.to_numpy(dtype=np.int64), [_norm_id(x) for x in ids.tolist()]


def _id_tokens(codes: np.ndarray, uniq: pd.Index | np.ndarray) -> dict[int, str]:
    """Row → the registry id stated in that cell of a text column, from its factorised ``codes`` and ``uniq``."""
    if not len(uniq):
        return {}
    where, found = _value_ids(uniq)
    if not where.size:
        return {}
    tok = np.full(len(uniq) + 1, None, dtype=object)  # per distinct value (last: missing, code -1)
    tok[where] = found
    rows = np.flatnonzero(np.isin(codes, where))
    return dict(zip(rows.tolist(), tok[codes[rows]].tolist(), strict=True))


def trial_codes(source_id: pd.Series, trial: pd.Series, registry_ids: pd.Series | None = None,
                aliases: Mapping[str, str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(code of each record's trial, label of each code), by the rules of this module.

    Codes are dense integers; ``labels[codes]`` are the identities (:func:`trial_identities`). Names
    are normalised once per distinct name; only records that state a registry id go through Python.
    """
    aliases = aliases or {}
    src, tri = source_id.reset_index(drop=True), trial.reset_index(drop=True)
    n = len(src)
    # trial names are factorised once (ids and names read once per distinct name); sources are read row by
    # row (most are distinct) and factorised only where no token names the trial, at the end
    t_codes, t_uniq = pd.factorize(tri, use_na_sentinel=True)
    ids: dict[int, list[str]] = {}
    for found in (_id_tokens(np.arange(n), src), _id_tokens(t_codes, t_uniq)):
        for r, tok in found.items():
            ids.setdefault(r, []).append(tok)
    if registry_ids is not None:
        for r, toks in _registry_tokens(registry_ids.reset_index(drop=True)).items():
            ids.setdefault(r, []).extend(toks)
    name_u = _name_tokens(t_uniq) if len(t_uniq) else np.array([], dtype=object)
    name_u = np.append(name_u, "")  # index -1: no name stated
    alias = lambda t: aliases.get(t, t)  # noqa: E731
    # rows stating two tokens or more (ids, or ids and a name) join them (rules 2 and 3)
    name_u = _mapped(name_u, aliases)
    pairs = [(r, alias(t)) for r, toks in ids.items() for t in dict.fromkeys(toks)]
    pairs += [(r, name_u[t_codes[r]]) for r in ids if t_codes[r] >= 0 and name_u[t_codes[r]]]
    label = _components(pd.DataFrame(pairs, columns=["row", "tok"]).drop_duplicates()) if pairs else {}
    name_u = _mapped(name_u, label)
    id_rows = np.fromiter(ids, dtype=np.int64, count=len(ids))
    id_labels = np.array([label.get(alias(toks[0]), alias(toks[0])) for toks in ids.values()], dtype=object)
    has = name_u != ""
    v_codes, vocab = pd.factorize(np.concatenate([name_u[has], id_labels]))
    name_code = np.full(len(name_u), -1, dtype=np.int64)
    name_code[np.flatnonzero(has)] = v_codes[: int(has.sum())]
    codes = name_code[t_codes]
    codes[id_rows] = v_codes[int(has.sum()):]
    vocab = np.asarray(vocab, dtype=object)
    none = np.flatnonzero(codes < 0)  # rule 4: a record with no token is its source
    src_codes, src_uniq = pd.factorize(src.iloc[none] if none.size < n else src, use_na_sentinel=True)
    src_uniq = np.asarray(src_uniq, dtype=object)
    if (src_codes < 0).any():
        src_uniq = np.append(src_uniq, "")
        src_codes = np.where(src_codes < 0, len(src_uniq) - 1, src_codes)
    codes[none] = len(vocab) + src_codes
    labels = np.concatenate([vocab, np.add("source:", src_uniq)])
    assert codes.size == n
    return codes, labels


def trial_identities(source_id: pd.Series, trial: pd.Series, registry_ids: pd.Series | None = None,
                     aliases: Mapping[str, str] | None = None) -> np.ndarray:
    """The trial identity of every record (object array of str), by the rules of this module.

    Examples
    --------
    >>> s = pd.Series(["NCT00753688", "PMID:2", "PMID:3", "PMID:4"])
    >>> t = pd.Series([None, "Palette trial", "PALETTE", None])
    >>> trial_identities(s, t, aliases={"trial:palette": "NCT00753688"}).tolist()
    ['NCT00753688', 'NCT00753688', 'NCT00753688', 'source:PMID:4']
    """
    codes, labels = trial_codes(source_id, trial, registry_ids, aliases)
    return labels[codes]


def _components(pairs: pd.DataFrame) -> dict[str, str]:
    """Token → trial label, joining the tokens stated together (rules 2–4 of the module docstring)."""
    counts = pairs.groupby("row", sort=False)["tok"].transform("size")
    multi = pairs[counts.to_numpy() > 1]
    if multi.empty:
        return {}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    is_name = multi["tok"].str.startswith("trial:")
    ids = multi[~is_name]
    for _, grp in ids.groupby("row", sort=False)["tok"]:
        t = grp.tolist()
        for other in t[1:]:
            ra, rb = find(t[0]), find(other)
            if ra != rb:
                parent[rb] = ra
    # a name joins the one trial whose ids it is stated with; with two trials' ids it links nothing
    first_id = ids.drop_duplicates("row").set_index("row")["tok"]
    named = multi[is_name]
    named = named[named["row"].isin(first_id.index)]
    comp = named.assign(comp=[find(t) for t in first_id.loc[named["row"]].tolist()])
    for name, grp in comp.groupby("tok", sort=False)["comp"]:
        roots = set(grp.tolist())
        if len(roots) == 1:
            parent[find(name)] = find(roots.pop())
    members: dict[str, list[str]] = {}
    for tok in set(multi["tok"].tolist()) | set(parent):
        members.setdefault(find(tok), []).append(tok)
    label = {}
    for toks in members.values():
        lab = _label(toks)
        for t in toks:
            label[t] = lab
    return label
