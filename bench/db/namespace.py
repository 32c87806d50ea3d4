"""A run's namespace: where its tables live, so runs sharing a database never meet.

Every run (a `sqla-bench run`, each pytest worker of the plug-in, a replay) works in a
namespace of its own, named `sqlab_run_<12 hex digits>`, and never outside it:

- PostgreSQL: a schema of that name in the user's database; every connection the run
  opens has `search_path` set to it at connect time (a startup parameter: no extra
  round trip), so unqualified names (ORM, Core, text(), raw driver SQL) resolve there.
- MySQL/MariaDB: a database of that name on the same server (MySQL's schema), with the
  user's database's character set and collation; the run connects to it.
- SQLite: a file of its own next to the named one (`FILE.sqlab_run_...`): SQLite has one
  writer per file, so runs sharing a file would wait on each other inside timed rounds.
  That file is the harness's, never the user's, so every connection to it is tuned
  (OWN_SQLITE_PRAGMAS): write-ahead log, synced at checkpoints only. A commit then costs
  no fsync (0.02 ms, not 3-15 ms): rounds measure SQLAlchemy and the driver, not the disk.

Table names do not change, so families name their tables as they always did, and the
namespace appears in nothing a user compares. The namespace travels inside the URL the
run connects with (a PostgreSQL URL carries it as the query key `sqlab_schema`, which
`session_settings` turns into the driver's own connect arguments), so everything handed
that URL follows it: engines, raw connections, load workers, the service process.

Claiming, recording and dropping namespaces is bench.db.registry's job.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # SQLAlchemy costs a third of a second to import: annotations only
    from sqlalchemy.engine import URL

NAME_PREFIX = "sqlab_run_"
# a fresh run's is 12 hex digits; a run given --namespace LABEL takes sqlab_run_LABEL
NAME_PATTERN = re.compile(r"^sqlab_run_[0-9a-z_]{1,40}$")
LABEL_PATTERN = re.compile(r"^[0-9a-z_]{1,40}$")
SCHEMA_KEY = "sqlab_schema"  # a PostgreSQL URL's namespace, as a query key of our own
# What the harness sets on a run's own SQLite file (recorded in the results file's config
# as `sqlite_pragmas`): the journal mode is the file's, set when the file is made
# (create_sqlite_file); synchronous is each connection's own, set by every one.
OWN_SQLITE_PRAGMAS = {"journal_mode": "WAL", "synchronous": "NORMAL"}
_FILE_PRAGMAS = ("journal_mode",)


def new_name() -> str:
    return f"{NAME_PREFIX}{secrets.token_hex(6)}"


def named(label: str) -> str:
    """The namespace of `--namespace LABEL`, one a service started by hand can be pointed at
    before the run: `sqlab_run_LABEL`. ValueError, in one line, for a malformed label."""
    if not LABEL_PATTERN.match(label):
        raise ValueError(f"--namespace takes 1 to 40 of a-z, 0-9 and _, not {label!r}")
    return NAME_PREFIX + label


def is_name(text: object) -> bool:
    """Whether `text` is a namespace name: the only thing the registry ever drops."""
    return isinstance(text, str) and NAME_PATTERN.match(text) is not None


def backend_of(url: URL) -> str:
    return {"mariadb": "mysql"}.get(url.get_backend_name(), url.get_backend_name())


def shares_nothing(url: URL) -> bool:
    """An in-memory SQLite database is private to its connection: no namespace needed."""
    return backend_of(url) == "sqlite" and url.database in (None, "", ":memory:")


def sqlite_file(database: str, name: str) -> Path:
    """The namespace's own file, next to the named one."""
    path = Path(database)
    return path.with_name(f"{path.name}.{name}")


def owns_sqlite_file(url: URL) -> bool:
    """Whether `url` is a run's own SQLite file (FILE.sqlab_run_...), not the user's."""
    database = url.database or ""
    return backend_of(url) == "sqlite" and is_name(Path(database).name.rpartition(".")[2])


def create_sqlite_file(database: str, name: str) -> None:
    """Make namespace `name`'s file next to `database`, in the harness's journal mode."""
    import sqlite3

    conn = sqlite3.connect(sqlite_file(database, name))
    try:
        for pragma in _FILE_PRAGMAS:
            conn.execute(f"PRAGMA {pragma}={OWN_SQLITE_PRAGMAS[pragma]}")
    finally:
        conn.close()


def sqlite_pragmas(execute: Callable[[str], Any]) -> None:
    """Tune a new connection to a run's own SQLite file: `execute` runs one statement.
    One statement a connection (NullPool's connect cost includes it)."""
    for name, value in OWN_SQLITE_PRAGMAS.items():
        if name not in _FILE_PRAGMAS:
            execute(f"PRAGMA {name}={value}")


def apply(url: URL, name: str) -> URL:
    """The URL a run in namespace `name` connects with, for the user's `url`."""
    backend = backend_of(url)
    if backend == "postgresql":
        return url.update_query_dict({SCHEMA_KEY: name})
    if backend == "mysql":
        return url.set(database=name)
    if backend == "sqlite" and not shares_nothing(url):
        assert url.database is not None
        return url.set(database=str(sqlite_file(url.database, name)))
    return url


def session_settings(url: URL) -> tuple[URL, dict[str, str]]:
    """The URL a driver understands (our query key removed), and the server settings each
    of its connections needs: {"search_path": schema} for a PostgreSQL namespace."""
    schema = url.query.get(SCHEMA_KEY)
    if schema is None:
        return url, {}
    if not isinstance(schema, str) or not is_name(schema):
        raise ValueError(f"{SCHEMA_KEY} must be one sqla-bench namespace name, not {schema!r}")
    return url.difference_update_query([SCHEMA_KEY]), {"search_path": schema}
