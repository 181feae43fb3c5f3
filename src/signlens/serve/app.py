"""The FastAPI application: routes, JSON errors, the bearer token, the page and the model's life."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

import signlens
from signlens.serve import api, stream
from signlens.serve.limits import BodyLimitMiddleware
from signlens.serve.pool import RecognizerPool
from signlens.serve.security import GuardMiddleware, HostRule
from signlens.serve.sessions import Shutdown
from signlens.serve.settings import Settings
from signlens.serve.uploads import ApiError

STATIC = Path(__file__).parent / "static"
COOKIE = "signlens_token"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    pool = RecognizerPool(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.shutdown.install(app.state.streams)
        task = asyncio.create_task(start(pool)) if settings.preload else None
        try:
            yield
        finally:
            if task is not None and not task.done():
                task.cancel()
            await asyncio.get_running_loop().run_in_executor(None, pool.close)

    app = FastAPI(
        title="signlens",
        version=signlens.__version__,
        description="Recognise static ASL hand signs in photos and live camera frames.",
        lifespan=lifespan,
        # FastAPI's Swagger and ReDoc pages load their scripts from a CDN; nothing here may be fetched
        # from a third-party host, so only the schema itself is served.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings, app.state.pool = settings, pool
    app.state.streams = stream.Streams(settings.max_streams)
    app.state.shutdown = Shutdown()
    app.include_router(api.router)
    app.include_router(stream.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/sw.js", include_in_schema=False)
    async def service_worker():  # at the root, so that it may keep the page itself for offline use
        return FileResponse(
            STATIC / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"}
        )

    @app.get("/", include_in_schema=False)
    async def page(request: Request):
        headers = {
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        }
        response = FileResponse(STATIC / "index.html", headers=headers)
        token = request.query_params.get("token", "")
        # Only the right token is remembered: a wrong one beside a good cookie or header must not replace it.
        if settings.token and token and secrets.compare_digest(token.encode(), settings.token.encode()):
            response.set_cookie(
                COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
            )
        return response

    install_errors(app)
    if settings.token:
        app.add_middleware(TokenMiddleware, token=settings.token)
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    # Outermost: a foreign Host is refused before anything else, and every answer gets the headers.
    app.add_middleware(GuardMiddleware, rule=HostRule(settings.bind_host, settings.allowed_hosts))
    return app


async def start(pool: RecognizerPool) -> None:
    try:
        await pool.start()
    except Exception as exc:  # /v1/health reports it too
        print(f"signlens serve: error: {exc}", file=sys.stderr)
        return
    print(f"signlens serve: model ready ({pool.load_seconds:.1f} s)", file=sys.stderr, flush=True)


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def install_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request, exc: ApiError):
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            message = f"no such route {request.url.path}; see /openapi.json"
        return error_response(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request, exc: RequestValidationError):
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]
        return error_response(422, "; ".join(problems) or "invalid request")

    @app.exception_handler(Exception)
    async def unexpected(request, exc: Exception):  # a bug: say so without echoing any input
        print(
            f"signlens serve: internal error {exc.__class__.__name__} on {request.url.path}", file=sys.stderr
        )
        return error_response(500, "internal error")


class TokenMiddleware:
    """Every route and the WebSocket need the token: an `Authorization: Bearer` header, or the cookie the
    page sets after one visit with ?token=; ?token= itself only on the page (URLs end up in logs)."""

    def __init__(self, app, token: str):
        self.app, self.token = app, token.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or self.authorised(scope):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "missing or wrong token"})
            return
        response = error_response(
            401,
            "missing or wrong token: send Authorization: Bearer <token>, or open /?token=<token>",
            {"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)

    def authorised(self, scope) -> bool:
        from starlette.requests import HTTPConnection

        connection = HTTPConnection(scope)
        header = connection.headers.get("authorization", "")
        offered = [
            header[7:] if header.lower().startswith("bearer ") else "",
            connection.cookies.get(COOKIE, ""),
            connection.query_params.get("token", "")
            if scope["type"] == "http" and scope["path"] == "/"
            else "",
        ]
        return any(o and secrets.compare_digest(o.encode(), self.token) for o in offered)
