"""Certainty of evidence (GRADE): the summary-of-findings table, each question's domains, risk of bias."""

import streamlit as st

from dashboards import auth, certainty_view, data, safe
from evidence.grading import CERTAINTY_JUDGEMENTS, ROB_DOMAINS, ROB_JUDGEMENTS, ROB_LABELS, JudgementError, Judgements

url = data.store_url()
store = data.get_store(url)
st.title("Certainty of evidence (GRADE)")
st.caption("One row per pooled question (k ≥ 2): relative effect, anticipated absolute effect where the comparator's "
           "landmark rate is known, and the certainty the product proposes from the data — risk of bias (the share "
           "of weight at high risk), inconsistency (I², prediction interval), imprecision (CI against 0.75 and "
           "1.25, optimal information size), publication bias (k ≥ 10) — with reviewers' judgements applied.")
reviewer = auth.reviewer(store)
records, rows = certainty_view.rows_of(store)
if not rows:
    st.info("No pooled question (k ≥ 2) among the curated records yet.")
else:
    st.dataframe(certainty_view.sof_frame(rows), hide_index=True, key="sof_table")
    c1, c2 = st.columns(2)
    c1.download_button("Summary of findings (DOCX)", certainty_view.docx_bytes(rows),
                       file_name="summary_of_findings.docx", key="dl_sof_docx",
                       mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    c2.download_button("Summary of findings (CSV)", certainty_view.csv_bytes(rows),
                       file_name="summary_of_findings.csv", mime="text/csv", key="dl_sof_csv")
    labels = {r.question: f"{r.population_label}: {r.intervention} vs {r.comparator} · {r.outcome} {r.measure}"
              for r in rows}
    q = st.selectbox("Question", list(labels), format_func=lambda k: labels[k], key="grade_question")
    row = next(r for r in rows if r.question == q)
    st.subheader(f"Certainty: {row.certainty.level if row.certainty else ''}")
    st.dataframe(certainty_view.domain_frame(row), hide_index=True, key="grade_domains")
    studies = certainty_view.studies_of(records, row)
    st.subheader("Risk of bias (RoB 2) of its studies")
    st.dataframe(certainty_view.rob_table(store, studies, row.outcome), hide_index=True, key="rob_table")
    if not reviewer:
        st.info("Sign in as a reviewer (sidebar) to enter risk of bias or to confirm or override a GRADE domain.")
    else:
        with st.form("rob_form", clear_on_submit=True):
            st.text(f"Risk of bias for {row.outcome}, as {reviewer}")
            study = st.selectbox("Study", studies, key="rob_study")
            domain = st.selectbox("Domain", list(ROB_DOMAINS), format_func=lambda d: ROB_LABELS[d], key="rob_domain")
            level = st.selectbox("Judgement", list(ROB_JUDGEMENTS), key="rob_level")
            reason = st.text_input("Reason (what in the report supports it)", key="rob_reason")
            if st.form_submit_button("Save risk of bias", key="rob_save"):
                try:
                    Judgements(store).set_rob(study, row.outcome, domain, level, reason, reviewer=reviewer)
                except JudgementError as exc:
                    st.error(safe.md(str(exc)))
                else:
                    st.rerun()
        with st.form("grade_form", clear_on_submit=True):
            st.text(f"Confirm or override a GRADE domain, as {reviewer}")
            gd = st.selectbox("Domain", [d.name for d in row.certainty.domains] if row.certainty else [],
                              key="grade_domain")
            gj = st.selectbox("Judgement", list(CERTAINTY_JUDGEMENTS), key="grade_level")
            gr = st.text_input("Reason", key="grade_reason")
            if st.form_submit_button("Save judgement", key="grade_save"):
                try:
                    Judgements(store).set_certainty(row.question, gd, gj, gr, reviewer=reviewer)
                except JudgementError as exc:
                    st.error(safe.md(str(exc)))
                else:
                    st.rerun()
