"""`signlens serve`: the web API and page (see signlens.serve)."""

from __future__ import annotations

from pathlib import Path

import typer

from signlens.cli.app import app


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; any but loopback needs --token."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    weights: Path = typer.Option(
        None, "--weights", "-w", help="Recogniser checkpoint [default: the bundled one]."
    ),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
    recognizers: int = typer.Option(
        1, "--recognizers", min=1, max=16, help="Photo recognisers per worker (requests run in parallel)."
    ),
    max_waiting: int = typer.Option(
        128, "--max-waiting", min=1, help="Requests queued for a recogniser before answering 503."
    ),
    token: str = typer.Option(
        None,
        "--token",
        envvar="SIGNLENS_TOKEN",
        help="Bearer token required on every route and the WebSocket.",
    ),
    no_auth: bool = typer.Option(False, "--no-auth", help="Serve a non-loopback address without a token."),
    ssl_certfile: Path = typer.Option(None, "--ssl-certfile", help="TLS certificate (PEM), for phones."),
    ssl_keyfile: Path = typer.Option(None, "--ssl-keyfile", help="TLS private key (PEM)."),
    allowed_host: list[str] = typer.Option(
        None,
        "--allowed-host",
        help="A name the server may be reached by besides localhost and IP addresses, e.g. a LAN name "
        "(repeat for several); other Host headers are refused.",
    ),
):
    """Serve the REST API (/v1/recognize, /v1/stream, /openapi.json) and the camera web page at /."""
    from signlens.serve.run import serve as run_server
    from signlens.serve.settings import Settings

    settings = Settings(
        weights=str(weights) if weights else None,
        token=token,
        recognizers=recognizers,
        max_waiting=max_waiting,
        allowed_hosts=list(allowed_host or []),
    )
    run_server(settings, host, port, workers, ssl_certfile, ssl_keyfile, no_auth)
