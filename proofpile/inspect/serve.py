"""Serve the viewer with uvicorn. It binds to the loopback interface unless told otherwise: a build may hold
unreleased or licensed text, and a page that lists it should not be reachable from the network by accident."""

from __future__ import annotations

import ipaddress
import socket

from proofpile.inspect.store import InspectError

DEFAULT_HOST = "127.0.0.1"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def check_host(host: str | None) -> str:
    """The address to bind: loopback by default; any other only when given explicitly with --host."""
    if host is None:
        return DEFAULT_HOST
    if not host.strip():
        raise InspectError("--host: empty address")
    return host


def serve(build: str, host: str | None = None, port: int = 8765, log_level: str = "warning") -> None:
    import uvicorn

    from proofpile.inspect.app import create_app

    bind = check_host(host)
    app = create_app(build)  # reads the manifest now: a wrong directory fails before the server starts
    where = f"[{bind}]" if ":" in bind else bind
    print(f"proofpile inspect: {build} on http://{where}:{port}/"
          + ("" if is_loopback(bind) else "  (NOT loopback: reachable from the network)"), flush=True)
    uvicorn.run(app, host=bind, port=port, log_level=log_level)
