"""Pure pandas analytics: windows, rates, distributions, trends, baselines,
anomalies and regressions. No I/O, no SQL, no Flask or Dash imports."""
