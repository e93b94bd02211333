"""A postgresql:// URL's password never reaches a message, however it is written: libpq's
own reading of the URL (user info up to the first '@' before any '/'; `password=` in the
query) is what is hidden, not only what urllib calls a password."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from prober.store.postgres_conn import describe, redact

SECRET = "s3cr"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:s3cr@127.0.0.1:1/db",
        "postgresql://u:s3cr#et@127.0.0.1:1/db",  # '#': a fragment to urllib
        "postgresql://u:s3cr?et@127.0.0.1:1/db",  # '?': a query to urllib
        "postgresql://u:s3cr%23et@127.0.0.1:1/db",
        "postgresql://u@127.0.0.1:1/db?password=s3cret&sslmode=disable",
        "postgres://u@127.0.0.1:1/db?sslmode=disable&password=s3cr",
    ],
)
def test_the_password_libpq_reads_is_hidden(url: str) -> None:
    assert SECRET in conninfo_to_dict(url)["password"]  # libpq does read it as the password
    hidden = redact(url)
    assert SECRET not in hidden and "***" in hidden
    assert SECRET not in describe(RuntimeError(f"bad {url}"), url)


def test_a_url_without_a_password_is_unchanged() -> None:
    url = "postgresql://u@127.0.0.1:1/db?sslmode=disable"
    assert redact(url) == url
