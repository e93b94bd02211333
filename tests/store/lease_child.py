"""A contender in its own process: `python -m tests.store.lease_child URL HOLDER` leads when
it can, prints `leader TERM` once it does, and renews until killed."""

from __future__ import annotations

import asyncio
import sys

from prober.store.postgres_lease import PgLeadership


async def main(url: str, holder: str) -> None:
    lead = PgLeadership(url, holder)
    while not await lead.acquire():
        await asyncio.sleep(0.05)
    print(f"leader {lead.term}", flush=True)
    while await lead.renew():
        await asyncio.sleep(0.2)
    print("deposed", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
