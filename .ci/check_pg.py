"""Smoke check of the PostgreSQL server started by .ci/postgres.sh, with psycopg 3.

Usage: .venv/bin/python .ci/check_pg.py [URL]   (URL defaults to $PG_URL; a SQLAlchemy
"postgresql+psycopg://" URL is accepted and turned into a libpq one)
"""

from __future__ import annotations

import os
import sys
import warnings

import psycopg


def main() -> int:
    warnings.simplefilter("error")
    url = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get(
            "PG_URL", "postgresql+psycopg://directory@127.0.0.1:55432/directory_test"
        )
    )
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        row = conn.execute(
            "select current_user, current_database(), version(), current_setting('server_encoding')"
        ).fetchone()
        print("connected:", row[0], row[1], row[3], "|", row[2].split(",")[0])
        conn.execute("create temporary table ci_check (id serial primary key, name text not null)")
        conn.execute(
            "insert into ci_check (name) values (%s), (%s)", ("Seniorenberatung Köln", "Straße")
        )
        names = [r[0] for r in conn.execute("select name from ci_check order by id")]
        assert names == ["Seniorenberatung Köln", "Straße"], names
        # the test role owns the database, so it may create the trusted contrib extensions
        conn.execute("create extension if not exists unaccent")
        assert conn.execute("select unaccent('Köln')").fetchone()[0] == "Koln"
        conn.execute("drop extension unaccent")
    print("PG check OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
