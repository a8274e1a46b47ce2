"""Which requests the explorer answers. It has no login, so it must not be reachable from a web
page the user happens to visit: a Host header other than the address it listens on (DNS
rebinding) is refused, and a write must come from the explorer's own page (same origin). Error
bodies quote at most a short excerpt of what was sent."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = (b"GET", b"HEAD", b"OPTIONS")
EXCERPT = 80  # characters of a rejected value quoted back
MAX_PROBLEMS = 5
WILDCARDS = ("0.0.0.0", "::", "")


def allowed_host_names(bound_host: str) -> set[str]:
    """Host names (without port) that mean this server. IP literals are always accepted: a
    rebinding attack needs a name it controls, and any address the request reached is ours."""
    names = {"localhost", bound_host.lower().strip("[]")}
    if bound_host in WILDCARDS:
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    return names


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class RequestGuard:
    def __init__(self, app: ASGIApp, allowed_hosts: set[str]):
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        name = _host_name(host)
        if not (_is_ip(name) or name in self.allowed_hosts):
            refusal = f"Host {host[:EXCERPT]!r} is not this explorer's address; use the URL `hark explore` printed"
            await PlainTextResponse(refusal, status_code=421)(scope, receive, send)
            return
        if scope["method"].encode() not in SAFE_METHODS and not _same_origin(headers, host):
            await PlainTextResponse("writes are accepted only from the explorer's own page", status_code=403)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def _same_origin(headers: dict[bytes, bytes], host: str) -> bool:
    """Browsers send Origin on every cross-origin write and Sec-Fetch-Site on every request;
    a client that sends neither (curl, a script) is not a web page acting for the user."""
    site = headers.get(b"sec-fetch-site", b"").decode("latin-1")
    if site and site not in ("same-origin", "none"):
        return False
    origin = headers.get(b"origin")
    if origin is None:
        return True
    return urlsplit(origin.decode("latin-1")).netloc.lower() == host.lower()


def _problem(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "body", "path"))
    value = error.get("input")
    if error.get("type") == "extra_forbidden":
        return f"{where[:EXCERPT]!r} is not a parameter here"
    shown = repr(value) if isinstance(value, (str, int, float, bool)) else ""
    if len(shown) > EXCERPT:
        shown = shown[:EXCERPT] + "…"
    return f"{where or 'request'}: {error.get('msg', 'invalid')}" + (f" (got {shown})" if shown else "")


async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """A 422 that names each problem in words and never echoes the whole request (a list of
    200,001 ids, or a non-finite number that JSON cannot even encode)."""
    errors = exc.errors()
    problems = [_problem(e) for e in errors[:MAX_PROBLEMS]]
    if len(errors) > MAX_PROBLEMS:
        problems.append(f"… and {len(errors) - MAX_PROBLEMS} more")
    return JSONResponse({"detail": "; ".join(problems), "problems": problems}, status_code=422)
