"""The domain layer: input schemas, durations, domain errors, the Explore query
model and the token bucket. Pure Python: no HTTP, no database, no pages."""
