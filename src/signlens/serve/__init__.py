"""`signlens serve`: the recogniser behind a versioned HTTP/WebSocket API and a web page (FastAPI)."""
