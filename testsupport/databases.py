"""A fresh database for each test or benchmark run: a SQLite file, or a schema of its own
on the PostgreSQL server that RELAIS_TEST_POSTGRES_URL names."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get("RELAIS_TEST_POSTGRES_URL", "")


def database_url(kind: str, data_dir: Path) -> str:
    """A fresh database: a SQLite file in `data_dir` ("sqlite"), or a new PostgreSQL schema
    ("postgresql"), so that runs in parallel on one server never share tables."""
    if kind == "sqlite":
        return f"sqlite:///{data_dir / 'relais.db'}"
    schema = f"test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


def drop_database(url: str) -> None:
    """Drop a PostgreSQL schema made by `database_url` (a SQLite file goes with its folder)."""
    if "search_path%3D" in url:
        schema = url.rsplit("%3D", 1)[1]
        engine = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()
