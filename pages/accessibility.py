"""Accessibility statement, as UK public sector websites publish one."""

from __future__ import annotations

import streamlit as st

import ui

ui.current(None)

st.title("Accessibility statement")
st.markdown(
    """
coprod is used by board members with lived experience, Disabled People's Organisations and
officers. We want as many people as possible to be able to use it. You should be able to:

- use every page with a keyboard alone, with a visible focus ring;
- zoom to 400% and use the dashboard on a screen 320 pixels wide without scrolling sideways
  (tables and charts may scroll inside themselves);
- read every chart's message as a sentence, and its numbers in a table;
- tell chart categories apart without seeing colour: bars also carry patterns and lines markers;
- hear every page with a screen reader, using the simple table views where offered.

## How accessible this dashboard is

We aim to meet the Web Content Accessibility Guidelines (WCAG) 2.2 at level AA, as the Public
Sector Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018 require.

## How it was tested

Every page, and its main states (a board picked, the register filtered, a decision open,
meeting mode, a form showing validation errors, an import with errors), is loaded in Chromium
by the automated test suite on every change and scanned with axe-core for the WCAG 2.0, 2.1
and 2.2 A and AA rules: **no violations are found**. The suite also walks a keyboard-only
journey — from the first Tab to the navigation, choosing a board, opening a decision, recording
an involvement and saving it — checking that the focus is visible at every step, and checks
that no page scrolls sideways at 320 pixels wide. Automated checks find only some problems:
they do not replace testing with disabled people and their assistive technology, which we
welcome.

## Known limitations and what to do instead

- **Data grids** (the decision register, the audit trail) are drawn on a canvas that screen
  readers cannot read cell by cell. Each offers a simple table view, which is an ordinary HTML
  table, and a download.
- **Charts** are pictures to a screen reader. Each has a text alternative stating its message,
  a sentence under it, and its numbers in a table under “The numbers in this chart”.
- **Date fields** are split into day, month and year parts by the framework. Type the date with
  the keyboard: the arrow keys move between the parts.
- **The PDF board report** holds real, searchable text and a title and language, but its
  tables are not tagged as tables for screen readers. The same figures are on the Overview and
  Board report pages.

## Reporting a problem

If you find a problem, or need information in another format (easy read, large print, BSL,
audio), contact your partnership's coprod administrator and say which page and what happened.
We aim to reply within 5 working days. If you are not happy with the reply, contact the
Equality Advisory and Support Service (EASS).
"""
)
