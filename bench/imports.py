"""Return import figures: one return, and a bulk import of historic returns, each next to
the time the fastest installed xlsx reader (python-calamine) takes just to read the same
files.

Imports change the database, so they run on a scratch copy of a scale's database (a file
copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), dropped afterwards: the
database the other figures read stays as it was built. On the copy, contracts without
returns are added (copies of the demo's quarterly contracts, for the demo provider whose
user submits), and for each of their 40 quarters a filled template is written with PAM's
own template writer, holding the figures of the contract it copies. Those are the files
imported, as `flask pam import-returns --accept-as` would: read, checked, stored,
accepted (reporting summary updated), audited, committed one by one.
"""

from __future__ import annotations

import io
import json
import math
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path

from python_calamine import CalamineWorkbook
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from bench.users import OFFICER, PROVIDER

TODAY = date(2026, 11, 23)  # after every generated quarter, whatever day the bench runs


@contextmanager
def scratch_copy(url: str) -> Iterator[str]:
    """A throwaway copy of the database at `url` (nothing may be connected to it)."""
    from pam.config import normalise_database_url

    if url.startswith("sqlite"):
        source = Path(url.removeprefix("sqlite:///"))
        copy = source.with_name(source.stem + "-imports.db")
        _remove_sqlite(copy)
        with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(copy)) as to:
            reading.backup(to)  # the backup API: what the write-ahead log holds comes too
        try:
            yield f"sqlite:///{copy}"
        finally:
            _remove_sqlite(copy)
        return
    base, _, name = normalise_database_url(url).rpartition("/")
    scratch = f"{name}_imports"
    server = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        _copy_database(connection, name, scratch)
    try:
        yield f"{base}/{scratch}"
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        server.dispose()


def _copy_database(connection, name: str, scratch: str) -> None:
    """CREATE DATABASE ... TEMPLATE, which needs nobody connected to the template: a server
    process can take a moment to go after its client has closed the connection."""
    for attempt in range(50):
        try:
            connection.execute(text(f'CREATE DATABASE "{scratch}" TEMPLATE "{name}"'))
            return
        except OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.2)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def raw_read(content: bytes) -> int:
    """What the fastest reader does with no checks at all: every cell of every sheet."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return sum(len(book.get_sheet_by_name(name).to_python()) for name in book.sheet_names)


def prepare(folder: Path, count: int) -> list[Path]:
    """Contracts without returns and `count` filled templates for them, in `folder`."""
    from bench.generate import Ids, World, bulk_insert, templates
    from pam.auth.models import User
    from pam.contracts.models import Contract
    from pam.extensions import db
    from pam.returns import services
    from pam.returns.spreadsheet import write_template

    provider_id = db.session.scalar(select(User.organisation_id).where(User.email == PROVIDER))
    area_ids = list(db.session.scalars(text("SELECT id FROM areas ORDER BY id")))
    connection = db.session.connection()
    shapes = templates(connection)
    ids = Ids(connection)
    world = World(ids, shapes, area_ids, [provider_id], prefix="IMP", with_returns=False)
    contracts = math.ceil(count / len(world.quarters))
    for table, rows in world.tables(contracts):
        bulk_insert(connection, table, rows)
    ids.reset_sequences()
    db.session.commit()
    answers = {shape.contract["id"]: _answers(shape) for shape in shapes}
    paths = []
    imported = db.session.scalars(
        select(Contract).where(Contract.reference.like("IMP-%")).order_by(Contract.id)
    ).all()
    for number, contract in enumerate(imported):
        entered = answers[shapes[number % len(shapes)].contract["id"]]
        for period in world.quarters:
            if len(paths) == count:
                return paths
            layout = services.layout_for(contract, period)
            path = folder / f"{contract.reference}-{period.slug}.xlsx"
            path.write_bytes(write_template(layout, entered))
            paths.append(path)
    return paths


def _answers(shape) -> dict:
    """Every answer of the return a template contract copies: figures and sections."""
    sections = shape.version["sections"]
    sections = json.loads(sections) if isinstance(sections, str) else sections
    return {**sections, **{figure["key"]: figure["value"] for figure in shape.figures}}


def measure_imports(url: str, count: int, singles: int, say) -> dict[str, float]:
    """One return's import (p50 of `singles` returns, each on its own) and a bulk import of
    `count` more, next to python-calamine reading the same files."""
    from bench.run import make_app, percentile
    from pam.auth.models import User
    from pam.extensions import db
    from pam.returns.bulk import from_files, import_returns

    figures: dict[str, float] = {}
    with scratch_copy(url) as scratch, tempfile.TemporaryDirectory() as folder:
        app = make_app(scratch)
        with app.app_context():
            say(f"  writing {singles + count:,} filled return templates to import")
            paths = prepare(Path(folder), singles + count)
            submitter = db.session.scalar(select(User).where(User.email == PROVIDER))
            officer = db.session.scalar(select(User).where(User.email == OFFICER))

            def import_all(files: list[Path]) -> None:
                outcomes = import_returns(from_files(files), submitter, signed_off_by="Bench",
                                          accepted_by=officer, today=TODAY)  # fmt: skip
                refused = [outcome for outcome in outcomes if not outcome.imported]
                if refused:
                    raise RuntimeError(f"{refused[0].name} was refused: {refused[0].reasons}")

            one, raw_one = [], []
            for path in paths[:singles]:
                raw_one.append(_seconds(lambda p=path: raw_read(p.read_bytes())))
                one.append(_seconds(lambda p=path: import_all([p])))
            bulk = paths[singles:]
            raw_seconds = _seconds(lambda: [raw_read(path.read_bytes()) for path in bulk])
            say(f"  importing {len(bulk):,} returns in bulk")
            bulk_seconds = _seconds(lambda: import_all(bulk))
            db.session.remove()
            db.engine.dispose()
    figures["one return import: read + check + store p50 (ms)"] = percentile(one, 50) * 1000
    figures["one return: raw python-calamine read p50 (ms)"] = percentile(raw_one, 50) * 1000
    figures["bulk import of historic returns (files/s)"] = len(bulk) / bulk_seconds
    figures["raw python-calamine read of the same files (files/s)"] = len(bulk) / raw_seconds
    return figures


def _seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started
