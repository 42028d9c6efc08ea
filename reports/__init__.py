"""Reports: queries and analytics composed into the JSON-ready figures that
the API routes, the pages and the live feed share."""
