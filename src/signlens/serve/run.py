"""Start the server: check the options, then hand over to uvicorn (one or more worker processes)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from signlens.errors import SignlensError
from signlens.serve.settings import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(settings: Settings, host: str, no_auth: bool, certfile: Path | None, keyfile: Path | None) -> None:
    if not is_loopback(host) and not settings.token and not no_auth:
        raise SignlensError(
            f"--host {host} lets other machines in: give --token SECRET (or --no-auth to serve openly)"
        )
    if (certfile is None) != (keyfile is None):
        raise SignlensError("--ssl-certfile and --ssl-keyfile go together")
    for path in (certfile, keyfile, settings.weights):
        if path is not None and not Path(path).is_file():
            raise SignlensError(f"file not found: {path}")
    if settings.token is not None and len(settings.token) < 8:
        raise SignlensError("--token must be at least 8 characters")
    if settings.weights is not None:  # refuse a bad model now, not in a worker after start-up
        from signlens.inference import load_classifier

        load_classifier(settings.weights)  # a landmark recogniser or an image classifier both serve


def check_port(host: str, port: int) -> None:
    """Fail with one clear line when the address is taken or not ours, before uvicorn's own log."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        raise SignlensError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    no_auth: bool = False,
) -> None:
    import uvicorn

    from signlens.serve.limits import uvicorn_options

    check(settings, host, no_auth, certfile, keyfile)
    check_port(host, port)
    settings.bind_host = host  # IP Host headers other than loopback's: this address (any, for 0.0.0.0)
    settings.to_env()  # each worker process builds its app from this
    scheme = "https" if certfile else "http"
    shown = f"[{host}]" if ":" in host else host
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else shown
    url = f"{scheme}://{shown}:{port}/" + (f"?token={settings.token}" if settings.token else "")
    print(f"signlens serve: open {url}  (API schema at /openapi.json; Ctrl+C stops)", flush=True)
    uvicorn.run(
        "signlens.serve.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        **uvicorn_options(settings),
    )
