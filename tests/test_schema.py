"""The migrations build the schema the models describe (columns, indexes, keys), on each
database Relais runs on: a model changed without its migration fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.db import make_engine, migrate
from core.models import Base
from testsupport.databases import database_url, drop_database

from .conftest import DATABASES


@pytest.mark.parametrize("kind", DATABASES)
def test_the_migrations_build_what_the_models_describe(kind: str, tmp_path: Path) -> None:
    url = database_url(kind, tmp_path)
    engine = make_engine(url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
        with engine.connect() as connection:  # the text's read of its person's exchange
            indexes = {i["name"] for i in engine.dialect.get_indexes(connection, "conversations")}
        assert "ix_conversations_person_id" in indexes
    finally:
        engine.dispose()
        drop_database(url)
