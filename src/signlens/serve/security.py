"""Whom the server answers and what every answer carries.

- Host: only names that cannot be rebound by someone else's DNS (loopback names, IP addresses this
  server answers on) and the names given with --allowed-host. Without it, any web page could rebind its
  own name to 127.0.0.1 and use the API as its own (DNS rebinding).
- Origin: a browser's WebSocket must come from a page of this server. Browsers let any page open a
  WebSocket to any host, so without the check every page the user visits could drive the camera stream.
- Headers: a Content-Security-Policy naming the page's real sources (its own scripts, WebAssembly for
  the on-device recogniser, no framing), nosniff, no referrer and no caching, on every answer.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from urllib.parse import urlsplit

# The page loads everything from /static; the on-device mode compiles WebAssembly (onnxruntime-web,
# MediaPipe), whose loaders may start workers from blob: URLs; photos are previewed from blob: URLs.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
)
WILDCARDS = ("0.0.0.0", "::", "")


def split_host(value: str) -> tuple[str, str | None]:
    """('name or address', 'port' or None) from a Host header or an origin's netloc; lower case."""
    value = value.strip().lower()
    if value.startswith("["):  # [v6]:port
        address, _, rest = value[1:].partition("]")
        return address, rest[1:] if rest.startswith(":") else None
    name, colon, port = value.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        return name.rstrip("."), port
    return value.rstrip("."), None


class HostRule:
    """Which Host headers are this server's: loopback names and addresses, the address it binds (any
    address when it binds all of them: an address cannot be rebound), and the names given."""

    def __init__(self, bind: str = "127.0.0.1", names: Iterable[str] = ()):
        self.names = {"localhost"} | {split_host(n)[0] for n in names if n.strip()}
        self.any_address = bind in WILDCARDS
        self.bind = bind.strip("[]").lower()
        try:
            ipaddress.ip_address(self.bind)
        except ValueError:
            if not self.any_address:
                self.names.add(self.bind)  # --host NAME: the name it was given

    def allows(self, host: str) -> bool:
        name, _ = split_host(host)
        if name in self.names or name.endswith(".localhost"):  # *.localhost is loopback (RFC 6761)
            return True
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            return False
        return address.is_loopback or self.any_address or name == self.bind


def same_origin(origin: str, host: str, scheme: str) -> bool:
    """Whether a browser's Origin header names this server as the client reached it (Host)."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    default = {"http": "80", "https": "443"}
    origin_name, origin_port = split_host(parts.netloc)
    host_name, host_port = split_host(host)
    secure = scheme in ("https", "wss")
    return (origin_name, origin_port or default[parts.scheme]) == (
        host_name,
        host_port or default["https" if secure else "http"],
    )


class GuardMiddleware:
    """Refuses foreign Host headers (400) and cross-origin WebSockets (closed before accepting: 403),
    and adds HEADERS to every HTTP answer."""

    def __init__(self, app, rule: HostRule):
        self.app, self.rule = app, rule

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k: v for k, v in scope["headers"] if k in (b"host", b"origin")}
        host = headers.get(b"host", b"").decode("latin-1")
        problem = None
        if not self.rule.allows(host):
            shown = "".join(c for c in host if c.isprintable())[:100] or "none"
            problem = f"host {shown!r} is not served here (start the server with --allowed-host NAME)"
        elif scope["type"] == "websocket" and b"origin" in headers:
            origin = headers[b"origin"].decode("latin-1")
            if not same_origin(origin, host, scope.get("scheme", "ws")):
                problem = "a live session must come from this server's own page"
        if scope["type"] == "websocket":
            if problem:
                await send({"type": "websocket.close", "code": 1008, "reason": problem[:120]})
                return None
            return await self.app(scope, receive, send)
        if problem:
            return await refuse(send, 400, problem)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {name for name, _ in HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + list(HEADERS)}
            await send(message)

        return await self.app(scope, receive, with_headers)


async def refuse(send, status: int, message: str, extra: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """A JSON error answered from middleware (outside FastAPI's handlers), closing the connection."""
    body = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *HEADERS,
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
