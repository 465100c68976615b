"""The floor for the dashboard's pages in the browser: a trivial Streamlit page.

    .venv/bin/streamlit run bench/trivial_app.py

A heading, a sentence, one Plotly chart of a few points and one small table: the least a page
of the dashboard draws. bench/ratios.py serves it the way it serves the dashboard and measures
it with the same definition of ready, so that a page's time divided by this page's time says
what the page itself costs, whatever else the machine is doing.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Trivial page", layout="wide")
st.title("A trivial page")
st.markdown("One sentence, one chart of a few points and one small table.")
figure = go.Figure(go.Bar(x=["A", "B", "C", "D"], y=[3, 1, 4, 1]))
figure.update_layout(height=300, margin={"l": 40, "r": 10, "t": 10, "b": 40})
st.plotly_chart(figure, key="chart", config={"displaylogo": False, "responsive": True}, theme=None)
st.table(pd.DataFrame({"Letter": ["A", "B", "C"], "Count": [3, 1, 4]}).set_index("Letter"))
