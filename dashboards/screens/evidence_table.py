"""Evidence table: every record under the filters, its source sentence with the number marked, its source."""

import math

import streamlit as st

from dashboards import data, safe, sources, views, widgets

PAGE_SIZE = 25

url = data.store_url()
st.title("Evidence table")
df = data.filtered(url, data.filters_of(widgets.current_view()))
rows = views.table_rows(df)
if rows.empty:
    st.info(safe.md(views.empty_filters_message(widgets.current_view())))
    st.stop()
st.caption(f"{len(rows)} records. Filters are in the sidebar; the Export page downloads this table as CSV.")
shown = rows.drop(columns=["evidence_text", "char_start", "value_start", "value_end"], errors="ignore")
st.dataframe(shown, hide_index=True, key="records_table",
             column_config={"source_url": st.column_config.LinkColumn("source link"),
                            "year": st.column_config.NumberColumn(format="%d")})
st.subheader("Source sentences")
n_pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
page = st.number_input(f"Page (of {n_pages})", min_value=1, max_value=n_pages, value=1, step=1, key="t_page")
chunk = rows.iloc[(int(page) - 1) * PAGE_SIZE: int(page) * PAGE_SIZE].to_dict("records")
st.markdown(sources.evidence_rows_html(chunk, [
    ("trial", "Trial"), ("year", "Year"), ("histotype", "Histotype"), ("comparison", "Comparison"),
    ("endpoint", "Endpoint"), ("measure", "Measure"), ("value [CI]", "Value [CI]"), ("status", "Status"),
    ("sentence", "Source sentence (number marked)"), ("source", "Source")]), unsafe_allow_html=True)
