"""HTTP API, job queue and review page."""
