"""Entry point of the dashboard: ``streamlit run dashboards/app.py -- --db URL``
(or ``sarcoma-evidence dashboard --db URL``; without ``--db``: ``$SARCOMA_EVIDENCE_DB``).

The sidebar filters are rendered here, so they stay put across pages; each page is a thin script in
``dashboards/screens/``; the whole view is written to the URL at the end of every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# Import the project's packages from the tree this file is in (an editable install made before a
# package gained its __init__.py would otherwise resolve it as an empty namespace package).
_ROOT = Path(__file__).resolve().parents[1]
if (_ROOT / "evidence" / "__init__.py").is_file() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from dashboards import auth, data, widgets  # noqa: E402  (after the sys.path fix above)
from evidence.errors import StoreBusyError, StoreSchemaError  # noqa: E402

st.set_page_config(page_title="Sarcoma evidence", page_icon="📊", layout="wide")
url = data.store_url()
pages = [
    st.Page("screens/evidence_map.py", title="Evidence map", default=True),
    st.Page("screens/question.py", title="Question", url_path="question"),
    st.Page("screens/pooled_estimate.py", title="Pooled estimate", url_path="pooled"),
    st.Page("screens/network.py", title="Network", url_path="network"),
    st.Page("screens/certainty.py", title="Certainty (GRADE)", url_path="certainty"),
    st.Page("screens/evidence_table.py", title="Evidence table", url_path="table"),
    st.Page("screens/export.py", title="Export", url_path="export"),
    st.Page("screens/prognostic.py", title="Prognostic factors", url_path="prognostic"),
    st.Page("screens/curation.py", title="Curation", url_path="curation"),
    st.Page("screens/what_changed.py", title="What changed", url_path="changes"),
]
page = st.navigation(pages)
widgets.current_view()
widgets.sidebar_filters(url)
auth.sidebar(data.get_store(url))
st.session_state[auth.IN_APP] = True
try:
    page.run()
except (StoreBusyError, StoreSchemaError) as exc:  # one line a user can act on, never SQL or a traceback
    st.error(str(exc), icon="⏳" if isinstance(exc, StoreBusyError) else "⚠️")
finally:
    st.session_state.pop(auth.IN_APP, None)
widgets.sync_url()
