"""`alumni-bot import FILE.csv`, `alumni-bot export KIND [--out FILE]`, `alumni-bot report [--month YYYY-MM]
[--chart FILE]`: HR operations from a terminal (the same rules as `/alumni-admin`, audited as `cli:<user>`)."""

from __future__ import annotations

import argparse
import getpass
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.i18n import Translator
from models.actors import Actor

EXPORT_KINDS = ("members", "opportunities", "referrals", "events")


def add_ops_parsers(sub: Any) -> list[argparse.ArgumentParser]:
    imp = sub.add_parser("import", help="import HR's roster CSV (UTF-8 or cp932) and match it to Slack users")
    imp.add_argument("file", help="the roster CSV (email, name, department, joined, left)")
    exp = sub.add_parser(
        "export", help="export members, opportunities, referrals or events as CSV (UTF-8 BOM)"
    )
    exp.add_argument("kind", choices=EXPORT_KINDS)
    exp.add_argument("--out", default=None, help="file to write (default alumni-KIND.csv; '-' for stdout)")
    rep = sub.add_parser("report", help="print the monthly program report and write its charts")
    rep.add_argument("--month", default=None, help="YYYY-MM (default: last complete month)")
    rep.add_argument(
        "--chart",
        default=None,
        help="PNG file for the members chart (default alumni-report-YYYY-MM.png); the funnel chart goes beside it",
    )
    return [imp, exp, rep]


def operator() -> Actor:
    """The terminal user acts with HR rights (whoever can run this has the database credentials)."""
    try:
        name = getpass.getuser()
    except Exception:  # no login name in some containers
        name = "unknown"
    return Actor(user_id=f"cli:{name}"[:64], is_hr=True)


class Progress:
    """What the slow steps are doing, on stderr, only when stderr is a terminal.

    A pipe, a file or a cron log stays quiet: only results and errors are written there. `step(label)`
    shows the label, the detail the step reports (`update("…")`) and a live elapsed time redrawn twice a
    second by a small thread, then a final line with the time taken. `bar(label)` counts known totals.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self._lock = threading.Lock()

    def _draw(self, text: str, *, final: bool = False) -> None:
        with self._lock:
            # \r and "erase line" redraw in place; a final line ends with a newline and stays.
            self.stream.write(f"\r\x1b[2K{text}" + ("\n" if final else ""))
            self.stream.flush()

    @contextmanager
    def step(self, label: str) -> Iterator[Callable[[str], None]]:
        if not self.enabled:
            yield lambda _detail: None
            return
        detail = [""]
        started = time.monotonic()
        stop = threading.Event()

        def draw(final: bool = False) -> None:
            shown = f"{label} {detail[0]}".rstrip()
            self._draw(f"{shown} ({time.monotonic() - started:.1f} s)", final=final)

        def tick() -> None:
            while not stop.wait(0.5):
                draw()

        def update(text: str) -> None:
            detail[0] = text
            draw()

        draw()
        ticker = threading.Thread(target=tick, name="cli-progress", daemon=True)
        ticker.start()
        try:
            yield update
        finally:
            stop.set()
            ticker.join()
            draw(final=True)

    def bar(self, label: str, width: int = 30) -> Callable[[int, int], None]:
        """A one-line progress bar, redrawn when a whole percent is done."""
        shown = [-1]

        def update(done: int, total: int) -> None:
            if not self.enabled:
                return
            percent = 100 * done // total if total else 100
            if percent == shown[0] and done < total:
                return
            shown[0] = percent
            filled = width * percent // 100
            self._draw(
                f"{label} [{'#' * filled}{'-' * (width - filled)}] {done}/{total}", final=done >= total
            )

        return update


def run_ops_command(args: argparse.Namespace, settings: Settings) -> int:
    from models.db import Database

    db = Database(settings.database_url)
    db.upgrade()
    tr = Translator(settings.language)
    if args.command == "import":
        return _import(args, settings, db, tr)
    if args.command == "export":
        return _export(args, db, tr, settings.zone)
    return _report(args, settings, db, tr)


def _import(args: argparse.Namespace, settings: Settings, db: Any, tr: Translator) -> int:
    from bot.blocks.admin import import_result_text
    from bot.slack_client import make_client
    from bot.slack_files import slack_accounts_by_email
    from models.errors import DomainError
    from models.roster import import_roster, parse_roster

    path = Path(args.file)
    try:
        parsed = parse_roster(path.read_bytes())
    except DomainError as exc:
        from bot.forms import error_message

        print(tr("admin.import.failed", reason=error_message(exc, tr)), file=sys.stderr)
        return 1
    settings.require_credentials(socket_mode=False)
    progress = Progress()
    with progress.step(tr("admin.cli.fetching_users")) as update:
        accounts = slack_accounts_by_email(
            make_client(settings),
            on_page=lambda pages, found: update(tr("admin.cli.users_pages", pages=pages, count=found)),
        )
    bar = progress.bar(tr("admin.cli.importing", total=len(parsed.rows)))
    with db.session() as session:
        report = import_roster(
            session, actor=operator(), parsed=parsed, slack_accounts=accounts, progress=bar
        )
    if not parsed.rows:
        bar(0, 0)
    print(import_result_text(report, tr, filename=path.name))
    return 0


def _export(args: argparse.Namespace, db: Any, tr: Translator, zone: ZoneInfo) -> int:
    from bot.forms import error_message
    from models.errors import DomainError
    from models.export import export_csv

    try:
        with Progress().step(tr("admin.cli.exporting", kind=args.kind)), db.session() as session:
            data, count = export_csv(session, actor=operator(), kind=args.kind, zone=zone)
    except DomainError as exc:
        print(error_message(exc, tr), file=sys.stderr)
        return 1
    if args.out == "-":
        sys.stdout.buffer.write(data)
        return 0
    out = Path(args.out or f"alumni-{args.kind}.csv")
    out.write_bytes(data)
    print(tr("admin.cli.export_written", count=count, path=str(out)))
    return 0


def _report(args: argparse.Namespace, settings: Settings, db: Any, tr: Translator) -> int:
    from bot.reporting import render_report
    from models.report import Month, last_complete_month
    from models.timeutil import now

    zone = settings.zone
    try:
        month = Month.parse(args.month) if args.month else last_complete_month(now(), zone)
    except ValueError:
        print(tr("admin.cli.bad_month"), file=sys.stderr)
        return 2
    with Progress().step(tr("admin.cli.building_report", month=str(month))), db.session() as session:
        rendered = render_report(session, month=month, zone=zone, tr=tr, defaults=settings.program_defaults())
    print(rendered.text)
    # Every chart the report carries: the first where --chart says, the others beside it under their own names.
    first = Path(args.chart or rendered.chart_filename)
    for index, chart in enumerate(rendered.charts()):
        path = first if index == 0 else first.with_name(chart.filename)
        path.write_bytes(chart.png)
        print(tr("admin.cli.report_written", path=str(path)))
    return 0
