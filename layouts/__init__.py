"""Page layouts: the only package besides callbacks/ that imports Dash."""
