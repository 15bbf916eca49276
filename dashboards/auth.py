"""Who is signed in: the sidebar sign-in form and the reviewer account of this browser session.

The dashboard is read-only for anyone not signed in (a committee browses without an account); only
a reviewer signed in with an account of the store (:class:`evidence.reviewers.Reviewers`) may curate,
and the audit log carries that account's name. The name lives in the server-side session state
only after :meth:`~evidence.reviewers.Reviewers.authenticate` accepted its password; a removed account
is signed out at the next run.
"""

from __future__ import annotations

import streamlit as st

from evidence.reviewers import ReviewerError, Reviewers
from evidence.store import Store

SESSION_KEY = "_signed_in_reviewer"
IN_APP = "_sidebar_drawn"  # set by app.py around page.run(): the sign-in form is already in the sidebar


def signed_in(store: Store) -> str:
    """The account signed in to this session, or "" (also "" once the account has been removed)."""
    name = st.session_state.get(SESSION_KEY, "")
    if name and not Reviewers(store).exists(name):
        st.session_state.pop(SESSION_KEY, None)
        return ""
    return str(name or "")


def sidebar(store: Store) -> str:
    """The sign-in form (or who is signed in, and a sign-out button) in the sidebar; returns the account."""
    sb = st.sidebar
    sb.header("Reviewer")
    name = signed_in(store)
    if name:
        sb.text(f"Signed in as {name}")
        if sb.button("Sign out", key="sign_out"):
            st.session_state.pop(SESSION_KEY, None)
            st.rerun()
        return name
    sb.caption("Browsing is open to all; sign in with a reviewer account to curate.")
    with sb.form("sign_in_form", clear_on_submit=True):
        who = st.text_input("Reviewer account", key="sign_in_name", max_chars=64)
        password = st.text_input("Password", type="password", key="sign_in_password", max_chars=1024)
        if st.form_submit_button("Sign in", key="sign_in"):
            try:
                st.session_state[SESSION_KEY] = Reviewers(store).authenticate(who.strip(), password)
            except ReviewerError:
                sb.error("Unknown account or wrong password.")
            else:
                st.rerun()
    return ""


def reviewer(store: Store) -> str:
    """The signed-in account for a page that writes; draws the sign-in form itself when the page runs
    without ``app.py`` (a page script run alone, as the AppTest tests do). Pages live in ``screens/``, not
    ``pages/``, so that Streamlit never runs one alone for a first request to a deep link."""
    if st.session_state.get(IN_APP):
        return signed_in(store)
    return sidebar(store)


__all__ = ["IN_APP", "SESSION_KEY", "reviewer", "sidebar", "signed_in"]
