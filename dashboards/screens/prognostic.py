"""Prognostic factors: which factors have evidence on which outcome, a forest per question, the source sentences."""

import streamlit as st

from dashboards import analysis, charts, data, prognostic_view

url = data.store_url()
st.title("Prognostic factors")
st.caption("Evidence on who does worse, not on which treatment works: each question is one factor's level against "
           "its reference on one outcome (hazard, odds or risk ratio), adjusted (multivariable) and crude estimates "
           "kept apart. Only curated records are shown.")
df = prognostic_view.prognostic_records(data.records(url))
if df.empty:
    st.info("No curated prognostic-factor records in this store yet. They come from cohort studies and reviews "
            "(`sarcoma-evidence ingest`), then curation.")
else:
    st.subheader("Studies per factor and outcome")
    st.dataframe(prognostic_view.factor_map(df), key="prognostic_map")
    qs = prognostic_view.questions(df)
    if not qs:
        st.info("No ratio estimates (HR, OR, RR) among these records; per-level rates are listed below.")
    else:
        key = st.selectbox("Question", list(qs), format_func=lambda k: qs[k].label, key="prognostic_question")
        q = qs[key]
        cp = prognostic_view.pool_question(df, q)
        if cp.result is None:
            st.warning(cp.message)
        else:
            st.text(f"Pooled {q.measure} {analysis.fmt_num(cp.reporting('estimate'))} "
                    f"({analysis.fmt_num(cp.reporting('ci_low'))}–{analysis.fmt_num(cp.reporting('ci_high'))}), "
                    f"k = {cp.result.k}, I² = {analysis.fmt_num(cp.result.i2, 0)}% (random effects, REML)")
        st.pyplot(charts.forest_plot(cp, measure=q.measure, favours=(f"{q.level} better", f"{q.reference} better"),
                                     title=q.label))
        st.subheader("Source sentences")
        for rec in prognostic_view.question_records(df, q).to_dict("records"):
            turned = f" (reported as {rec['reported_as']}; shown inverted)" if rec.get("reported_as") else ""
            st.text(f"{analysis.study_label(rec)}{turned} — {rec.get('evidence_text') or ''}")
    factor = st.selectbox("Per-level rates of a factor", sorted(df["factor"].dropna().unique()),
                          key="prognostic_factor")
    st.dataframe(prognostic_view.level_rates(df, factor), hide_index=True, key="prognostic_rates")
