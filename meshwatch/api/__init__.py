"""The HTTP service: FastAPI app factory, routes, webhook, auth, /metrics, status page."""
