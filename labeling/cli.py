"""`lmforge label ...`: serve the labeling site, add annotators, import items, export labels.

`add_label_commands(subparsers)` adds the `label` command to `lmforge`'s parser; each sub-command sets
`handler(namespace) -> int` (0 on success) and raises `LabelServiceError` for anything the user can fix
(a bad file, URL, name...), which the caller prints on one line (exit 2), as `main` here does when this module
runs on its own (`python -m labeling.cli label ...`).

    lmforge label serve [--db URL] [--host 127.0.0.1] [--port 8600]
    lmforge label add-user NAME [--admin] [--db URL]        # the token is the last line printed
    lmforge label rotate-token NAME [--db URL]
    lmforge label import PATH [--batch NAME] [--labels-required K] [--db URL]
    lmforge label export PATH [--batch NAME] [--audit] [--db URL]   # .jsonl or .parquet

`--db` defaults to `$LMFORGE_LABEL_DB`, else `sqlite:///labels.sqlite3`; a plain path means a SQLite file.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Sequence

from labeling.database import DEFAULT_DATABASE_URL
from labeling.errors import LabelServiceError

DATABASE_ENVIRONMENT_VARIABLE = "LMFORGE_LABEL_DB"
USAGE = __doc__.split("\n\n", 2)[2] if __doc__ else ""  # the command list and the --db note, for --help
LABEL_USER_ERRORS: tuple[type[BaseException], ...] = (LabelServiceError,)
EXIT_USAGE = 2
LISTEN_BACKLOG = 2048  # uvicorn's default


def default_database() -> str:
    return os.environ.get(DATABASE_ENVIRONMENT_VARIABLE) or DEFAULT_DATABASE_URL


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) and listening, as uvicorn would open it (SO_REUSEADDR); port 0 lets the
    system choose. Opened before anything is printed, so a port in use is a one-line error, not a crash later."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        reason = error.strerror or str(error)
        raise LabelServiceError(f"cannot listen on {host}:{port}: {reason}") from error
    return sock


def command_serve(arguments: argparse.Namespace) -> int:
    import uvicorn

    from labeling.app import create_app

    sock = listening_socket(arguments.host, arguments.port)
    try:
        app = create_app(arguments.db, secure_cookies=arguments.secure_cookies)
        port = int(sock.getsockname()[1])
        shown_host = f"[{arguments.host}]" if ":" in arguments.host else arguments.host
        print(f"lmforge label: serving {arguments.db} on http://{shown_host}:{port}/", flush=True)
        config = uvicorn.Config(
            app,
            host=arguments.host,
            port=port,
            log_level=arguments.log_level,
            backlog=LISTEN_BACKLOG,
            limit_concurrency=app.state.settings.limits.max_connections,  # beyond: 503, not a pile-up
            timeout_keep_alive=5,
        )
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0


def command_add_user(arguments: argparse.Namespace) -> int:
    from labeling.auth import add_annotator

    token = add_annotator(arguments.db, arguments.name, admin=arguments.admin)
    role = "admin" if arguments.admin else "annotator"
    print(f"created {role} {arguments.name!r}; their token (shown only now, store it safely):")
    print(token, flush=True)
    return 0


def command_rotate_token(arguments: argparse.Namespace) -> int:
    from labeling.auth import replace_token

    token = replace_token(arguments.db, arguments.name)
    print(f"new token for {arguments.name!r} (the old one and its sessions no longer work):")
    print(token, flush=True)
    return 0


def command_import(arguments: argparse.Namespace) -> int:
    from labeling.importing import import_file

    report = import_file(
        arguments.db, arguments.path, batch=arguments.batch, labels_required=arguments.labels_required
    )
    print(json.dumps(report.as_dict()), flush=True)
    return 0


def command_export(arguments: argparse.Namespace) -> int:
    from labeling.exporting import export_audit, export_preferences

    write = export_audit if arguments.audit else export_preferences
    print(json.dumps(write(arguments.db, arguments.path, batch=arguments.batch)), flush=True)
    return 0


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=default_database(),
        metavar="URL",
        help=f"sqlite:///FILE, a file path, or postgresql://... (default: ${DATABASE_ENVIRONMENT_VARIABLE} "
        f"or {DEFAULT_DATABASE_URL})",
    )


def add_label_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `label` and its sub-commands to a parser's sub-commands."""
    label = subparsers.add_parser("label", help="the human-labeling web service", description=USAGE,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = label.add_subparsers(dest="label_command", required=True)

    serve = commands.add_parser("serve", help="run the labeling site (uvicorn)")
    add_database_argument(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8600, help="8600 by default; 0 picks a free port")
    serve.add_argument("--secure-cookies", action="store_true", help="behind HTTPS: cookies only over TLS")
    serve.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    serve.set_defaults(handler=command_serve)

    add_user = commands.add_parser("add-user", help="create an annotator and print their token (last line)")
    add_user.add_argument("name")
    add_user.add_argument("--admin", action="store_true", help="may see statistics, import and export")
    add_database_argument(add_user)
    add_user.set_defaults(handler=command_add_user)

    rotate = commands.add_parser("rotate-token", help="replace a person's token (last line)")
    rotate.add_argument("name")
    add_database_argument(rotate)
    rotate.set_defaults(handler=command_rotate_token)

    importer = commands.add_parser(
        "import", help="import pairs and/or documents (JSONL, JSON, Parquet, Arrow)"
    )
    importer.add_argument("path", metavar="PATH")
    importer.add_argument("--batch", default="default", help="batch name (default: default)")
    importer.add_argument("--labels-required", type=int, default=1, metavar="K", help="labels per item (1)")
    add_database_argument(importer)
    importer.set_defaults(handler=command_import)

    exporter = commands.add_parser("export", help="write the preference dataset (or --audit labels)")
    exporter.add_argument("path", metavar="PATH", help="*.jsonl or *.parquet")
    exporter.add_argument("--batch", default=None, help="only this batch")
    exporter.add_argument("--audit", action="store_true", help="document keep/drop labels instead of pairs")
    add_database_argument(exporter)
    exporter.set_defaults(handler=command_export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lmforge")
    add_label_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        return int(arguments.handler(arguments) or 0)
    except LABEL_USER_ERRORS as error:
        print(f"lmforge: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
