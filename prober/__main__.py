"""`python -m prober` is the `prober` command."""

from __future__ import annotations

from prober.cli import main

raise SystemExit(main())
