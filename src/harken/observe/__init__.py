"""The operator's instruments: Prometheus metrics (`/metrics`), one structured log line per request and
per webhook delivery attempt, and readiness (`/readyz`). Nothing here ever records a customer's data:
routes are counted by their template, never by the path that names a ref."""
