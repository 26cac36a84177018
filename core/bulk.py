"""Bulk writes on PostgreSQL through COPY, failing as an INSERT would.

An executemany with thousands of rows renders one VALUES statement per page with thousands
of placeholders, which psycopg re-parses in Python for every page: for an import that,
not the server, was most of the time. COPY sends the rows as data, in the session's
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError


def copy_rows(connection: Connection, table: str, names: Sequence[str], rows: Iterable[Sequence]) -> None:
    """COPY `rows` (values in the order of `names`) into `table` on a PostgreSQL connection.

    A failure raises what SQLAlchemy would have (IntegrityError, OperationalError...), so the
    error handlers treat it like a failed INSERT; a connection that has gone is dropped.
    """
    quote = connection.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    dbapi = connection.dialect.loaded_dbapi
    raw = connection.connection.dbapi_connection
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as exc:
        gone = connection.dialect.is_disconnect(exc, raw, None)
        if gone:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, connection_invalidated=gone,
                                  dialect=connection.dialect) from exc
