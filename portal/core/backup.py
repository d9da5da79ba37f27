"""Consistent online backups of the SQLite database (never a file copy of a live WAL database)."""

from __future__ import annotations

import os
import sqlite3

import peewee


class BackupError(RuntimeError):
    pass


def backup(db: peewee.Database, destination: str) -> str:
    """Copy the live database with SQLite's backup API, then check the copy's integrity."""
    if not isinstance(db, peewee.SqliteDatabase):
        raise BackupError("this database is PostgreSQL: back it up with `pg_dump -Fc` and restore with `pg_restore`")
    destination = os.path.abspath(destination)
    if os.path.exists(destination):
        raise BackupError(f"{destination} already exists; choose a new file name")
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    target = sqlite3.connect(destination)
    try:
        db.connection().backup(target)
        status = target.execute("PRAGMA integrity_check").fetchone()[0]
        tables = target.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    finally:
        target.close()
    if status != "ok":
        os.remove(destination)
        raise BackupError(f"the copy failed its integrity check ({status}); nothing was kept")
    return f"backup written to {destination}: {tables} tables, integrity ok"
