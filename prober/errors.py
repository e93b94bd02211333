"""Exceptions prober raises, as one tree.

    ProberError
    ├── ConfigError            checks.yaml could not be loaded; carries every ConfigIssue
    ├── StoreError             the database failed (full disk, read-only, corrupt)
    │   ├── SchemaTooNewError  the database was written by a newer prober
    │   ├── StoreLockedError   another process holds the database (one writer per file)
    │   └── StoreLostError     the database or its WAL vanished since the last run

A probe never raises for a target failure: it returns a ProbeResult with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass


class ProberError(Exception):
    """Base of every error prober raises on purpose."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, located as FILE:LINE:COLUMN and a YAML path."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(ProberError):
    """checks.yaml is invalid; `issues` lists every problem found in one pass."""

    def __init__(self, issues: list[ConfigIssue], secrets: frozenset[str] = frozenset()) -> None:
        self.issues = list(issues)
        # What ${VAR}s in the file expanded to: redact them wherever the issues are shown
        # (the reload API, logs); a refused file's secrets are not known to the log redactor.
        self.secrets = secrets
        super().__init__("\n".join(str(i) for i in self.issues))


class StoreError(ProberError):
    """The store could not read or write."""


class SchemaTooNewError(StoreError):
    """The database schema is newer than this prober understands."""


class StoreLockedError(StoreError):
    """Another process holds the database; prober refuses to start rather than share it."""


class StoreLostError(StoreError):
    """The database (or its write-ahead log) that existed is gone: starting empty or older
    would silently lose incidents, so prober refuses unless told `--allow-new-db`."""


class NotLeaderError(StoreError):
    """A write sent to a replica that does not lead (several replicas, docs/LEADERSHIP.md):
    refused with 503 and Retry-After, nothing was written. `leader`: who leads."""

    def __init__(self, leader: str) -> None:
        super().__init__(f"not the leader (leader: {leader or 'none elected yet'}); retry")
        self.leader = leader
