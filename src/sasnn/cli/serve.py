"""``sasnn serve``: the web page on a local port."""

from __future__ import annotations

import socket

import typer

from sasnn.cli._app import UserError, app, err

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _check_port(host: str, port: int) -> None:
    """Refuse a port that cannot be listened on, in one line, before loading the model."""
    if not 0 < port < 65536:
        raise UserError(f"--port must be between 1 and 65535, got {port}")
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(info[0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(info[4])
    except OSError as exc:
        raise UserError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})") from None


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on. Other than 127.0.0.1, the page "
                             "is open to the network: anyone who reaches it can upload files and run fits."),
    port: int = typer.Option(8000, help="Port to listen on."),
    model: str = typer.Option(None, help="Run, checkpoint or ensemble folder (default: the shipped model)."),
    fit_processes: int = typer.Option(2, "--fit-processes", help="Fits running at once (one process each)."),
) -> None:
    """A local web page: drop data files, see the ranked models, fit them, invert to p(r).

    The classifier is loaded once; fits run in at most --fit-processes processes.
    Uploads over 20 MB or 50 entries are refused. Stop with Ctrl-C.
    """
    if fit_processes < 1:
        raise UserError(f"--fit-processes must be a positive number, got {fit_processes}")
    _check_port(host, port)
    import uvicorn

    from sasnn.web.app import create_app

    application = create_app(model, fit_processes=fit_processes)
    if host not in LOOPBACK:
        err.print(f"sasnn: warning: listening on {host}: the page is reachable from other machines",
                  markup=False, highlight=False)
    shown = f"[{host}]" if ":" in host else host
    err.print(f"sasnn serve: open http://{shown}:{port}/ (Ctrl-C stops)", markup=False, highlight=False)
    uvicorn.run(application, host=host, port=port, log_level="warning")
