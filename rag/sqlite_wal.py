"""Opening a SQLite file that several processes share, the way both on-disk caches do
(the embedding cache `rag.embedders.cache` and the sweep stage cache `eval.cache`).

- `open_table(path, ddl)` creates the parent folder, switches the file to WAL mode
  (readers never block the writer; the mode is stored in the file, so once is enough)
  and runs the `CREATE TABLE IF NOT EXISTS` statement.
- `connect(path)` opens one connection per operation (safe across threads; callers
  close it with `contextlib.closing`) that waits up to 60 s for a busy writer instead
  of failing.

Left out on purpose: the tables, keys and values (each cache owns its schema and its
get/put queries: JSON rows by (stage, key) versus float32 blobs fetched in batches),
connection pooling, and retries beyond SQLite's busy timeout.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

BUSY_TIMEOUT_S = 60.0


def connect(path: Path) -> sqlite3.Connection:
    """A new connection to `path` that waits up to BUSY_TIMEOUT_S for a busy writer."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    return db


def open_table(path: Path, ddl: str) -> None:
    """Create `path`'s folder, put the file in WAL mode and run `ddl` (a CREATE TABLE
    IF NOT EXISTS statement), in one committed transaction."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(connect(path)) as db, db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(ddl)
