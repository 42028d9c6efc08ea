"""Storage: engine, models, ingest and queries. The only package that speaks SQL."""
