"""Glossary: co-production words in simple language."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from coprod.glossary import GLOSSARY

ui.current(None)

st.title("Glossary")
st.markdown("What the words used in coprod mean, in simple language.")
st.table(pd.DataFrame(GLOSSARY, columns=["Word", "What it means"]).set_index("Word"))
