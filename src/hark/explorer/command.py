"""`hark explore RUN`: serve the explorer on this machine and print its URL."""

from __future__ import annotations

import argparse
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from hark.errors import HarkError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class ExploreConfig:
    run: Path
    compare: Path | None = None  # a second run: its predictions beside the first's, fixed/broken filters
    host: str = "127.0.0.1"
    port: int = 8765
    data: Path | None = None


def configure(parser: argparse.ArgumentParser) -> None:
    defaults = ExploreConfig(run=Path("."))
    parser.add_argument("run", type=Path, help="run folder (analysed with `hark analyze`)")
    parser.add_argument(
        "compare",
        type=Path,
        nargs="?",
        default=None,
        help="a second run of the same clips (RUN_B): both predictions on each card, "
        "and filters to the clips B fixed or broke",
    )
    parser.add_argument(
        "--host", default=defaults.host, help="interface to listen on (default %(default)s: this machine only)"
    )
    parser.add_argument("--port", type=int, default=defaults.port, help="0 picks a free port (default %(default)s)")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="dataset folder, if it has moved since training (default: from config.json)",
    )


def _bind(host: str, port: int) -> socket.socket:
    """Bind and listen before starting uvicorn, so that port 0 resolves to a real port we can
    print, and a browser opening the printed URL at once is queued rather than refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(socket.SOMAXCONN)
    except OSError as err:
        sock.close()
        raise HarkError(f"cannot listen on {host}:{port} ({err.strerror}); try --port 0") from None
    return sock


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from hark.explorer.app import create_app

    config = ExploreConfig(run=args.run, compare=args.compare, host=args.host, port=args.port, data=args.data)
    app = create_app(config.run, config.data, config.host, config.compare)
    problem = app.state.explorer.run.data_problem
    if problem:
        print(f"warning: {problem}; the clips will show without audio or spectrograms", file=sys.stderr)
    if config.host not in LOCAL_HOSTS:
        print(
            f"warning: listening on {config.host}: anyone who can reach this machine can read the "
            "run's clips and edit its issues (there is no login)",
            file=sys.stderr,
        )
    sock = _bind(config.host, config.port)
    port = sock.getsockname()[1]
    shown_host = f"[{config.host}]" if ":" in config.host else config.host
    print(f"hark explorer: http://{shown_host}:{port}/  (Ctrl+C to stop)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
    return 0
