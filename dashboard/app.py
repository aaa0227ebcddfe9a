"""speedproof's dashboard: ``streamlit run dashboard/app.py -- --results PATH`` (or ``harness dashboard``).

One page per module ``pages_*.py`` beside this file; every page reads the results folder through
``dashboard.data`` and computes nothing itself beyond calling ``harness``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import data, look

st.set_page_config(page_title="speedproof", page_icon=":material/speed:", layout="wide")
PAGES = [
    st.Page("pages_overview.py", title="Who wins", icon=":material/emoji_events:", url_path="overview", default=True),
    st.Page("pages_leaderboard.py", title="Leaderboard", icon=":material/leaderboard:", url_path="leaderboard"),
    st.Page("pages_speedup.py", title="Speedup vs scale", icon=":material/trending_up:", url_path="speedup"),
    st.Page("pages_loss.py", title="Loss vs budget", icon=":material/show_chart:", url_path="loss"),
    st.Page("pages_pareto.py", title="Pareto", icon=":material/scatter_plot:", url_path="pareto"),
    st.Page("pages_claims.py", title="Claims", icon=":material/fact_check:", url_path="claims"),
    st.Page("pages_runs.py", title="Runs", icon=":material/timeline:", url_path="runs"),
    st.Page("pages_method.py", title="Method", icon=":material/menu_book:", url_path="method"),
]
page = st.navigation(PAGES)
st.html(look.PAGE_CSS)
st.sidebar.caption(f"Results: `{data.results_path()}`")
page.run()
