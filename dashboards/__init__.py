"""The Streamlit dashboard guideline committees browse (DESIGN.md "dashboards/").

Pages (``dashboards/screens/``) only wire widgets to the pure functions of this package:

- :mod:`dashboards.state`: the view (filters, cell, estimator, test, exclusions) and its URL form;
- :mod:`dashboards.views`: filtering, the evidence-map cell table, a cell's studies;
- :mod:`dashboards.analysis`: a cell's pooled estimate, sensitivity and small-study-bias analyses;
- :mod:`dashboards.sources`: escaped source sentences with the number highlighted, source links;
- :mod:`dashboards.exports`: the CSV exports, the formatted study table, the view's full link;
- :mod:`dashboards.curation_view`, :mod:`dashboards.adjudication_view`: the curation page's logic (record
  review; conflicts, agreement, study-level fields);
- :mod:`dashboards.charts`: every chart (forest and funnel plots in matplotlib, the map in plotly);
- :mod:`dashboards.data`: cached store queries; :mod:`dashboards.widgets`: widget ↔ view glue.
"""
