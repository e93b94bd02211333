"""The distributed mode's figures (issue 14), on a durable throwaway PostgreSQL cluster.

    python -m bench.distributed [--quick] [--json FILE] [--failovers N]
    python -m bench                  (this section included; `--skip distributed` leaves it out)

- **agent probes/s per core with database writes**: the same N probes (HttpProber, fresh
  connection each, 1,000 checks, a light loopback target on another core) done by
  `probe_only` (the single-node `prober run` in-process path: probe + per-check metrics, no
  engine) and by `agent_postgres` (+ encode + RoundWriter batches into PostgreSQL, each
  batch one committed binary COPY), alternating over the repeats, the agent process's CPU
  time (bench/agent.py's `measure`). Bar: the agent at least 90% of the single-node figure,
  judged on the paired ratio (each repeat's agent run against the same repeat's single-node
  run: the steadier figure on a shared machine); the ratio of the medians is printed too.
- **extra detection latency agent -> database -> leader** (bench/agent_latency.py): three
  locations' RoundWriters and the leader's Feed polling every `poll` s (the interval
  `prober run` polls at, and another next to it); per decided round, the poll that
  decided it minus the moment an in-process prober would have had the result. Bar: p99 at
  most 1 s.
- **failover**: two real `prober run` replicas and one agent on the database; the leader
  process is killed with SIGKILL; the time to the new leader's election (its term write)
  and to its first state write after that (bench/distributed_failover.py). Several runs,
  median and max.
- **leader end to end** (bench/distributed_leader.py): merged rounds per CPU-second of the
  leader's path (read the rows, decode, quorum, engine, one fenced write per poll).
- **rows and bytes written per 1,000 probes** (bench/pg_store.py): rows, heap + index
  growth of the `rounds` table, and WAL bytes, batches of 100 rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import agent, agent_latency, pg_store

BAR_RATIO = 0.90
BAR_P99 = 1.0


@dataclass(frozen=True)
class Size:
    probes: int  # per throughput run
    concurrency: int
    repeats: int
    latency_seconds: float
    latency_checks: int
    poll: float  # the leader's feed poll period (seconds)
    store_probes: int
    failovers: int
    leader_checks: int
    leader_rounds: int


QUICK = Size(300, 10, 1, 3.0, 20, 0.25, 2000, 1, 100, 5)
FULL = Size(4000, 50, 5, 20.0, 200, 0.25, 20_000, 5, 1000, 20)


def throughput(url: str, size: Size) -> dict[str, Any]:
    """bench/agent.py's measurement (`python -m bench.agent --postgres`, its two variants):
    alternating repeats, and the paired ratio, each repeat's agent run against the same
    repeat's single-node run, which drift on a shared machine hits alike."""
    m = agent.measure(
        size.probes, size.concurrency, size.repeats, url, variants=("probe_only", "agent_postgres")
    )
    med: Any = m["probes_per_cpu_s"]
    paired: Any = m["paired_ratio_median"]
    return {
        "probes": size.probes,
        "concurrency": size.concurrency,
        "repeats": size.repeats,
        "single_node_probes_per_core_s": med["probe_only"],
        "agent_postgres_probes_per_core_s": med["agent_postgres"],
        "ratio": med["agent_postgres"] / med["probe_only"],
        "paired_ratio": paired["agent_postgres"],
        "load_average_start_end": m["load_average_start_end"],
        "failures": m["failures"],
        "rows_per_1000_probes": m["rows_per_1000_probes"]["agent_postgres"],  # type: ignore[index]
    }


def latency(url: str, other_url: str, size: Size) -> dict[str, Any]:
    """At the poll period `prober run` uses (FEED_INTERVAL), and next to it at another
    (`size.poll`, or 1 s when that is the same): each on an empty database of its own."""
    from prober.service.role import FEED_INTERVAL

    out = dict(
        asyncio.run(
            agent_latency.run(url, size.latency_seconds, size.latency_checks, FEED_INTERVAL)
        )
    )
    other = size.poll if size.poll != FEED_INTERVAL else 1.0
    got = asyncio.run(
        agent_latency.run(other_url, size.latency_seconds, size.latency_checks, other)
    )
    out["at_other_poll"] = {"poll": other, "extra_latency_s": got["extra_latency_s"]}
    return out


def storage(url: str, size: Size) -> dict[str, Any]:
    out = asyncio.run(pg_store.run(url, size.store_probes, 100))
    out["bytes_per_1000_probes"] = (
        out["table_bytes_per_1000_probes"] + out["wal_bytes_per_1000_probes"]
    )
    return out


def section(quick: bool, failovers: int | None = None) -> dict[str, Any]:
    """Every figure of the distributed mode, on one durable throwaway cluster; prints its
    table and returns the figures."""
    from bench.distributed_failover import failover
    from bench.distributed_leader import leader_throughput
    from tests.pg import throwaway_cluster

    size = QUICK if quick else FULL
    started = time.monotonic()
    out: dict[str, Any] = {"size": asdict(size)}
    with throwaway_cluster(durable=True) as cluster, tempfile.TemporaryDirectory() as tmp:
        for name in ("throughput", "latency", "latency_short", "storage", "leader", "failover"):
            cluster.psql(f'CREATE DATABASE "{name}"')
        out["throughput"] = throughput(cluster.url("throughput"), size)
        out["latency"] = latency(cluster.url("latency"), cluster.url("latency_short"), size)
        out["storage"] = storage(cluster.url("storage"), size)
        out["leader"] = asyncio.run(
            leader_throughput(cluster.url("leader"), size.leader_checks, size.leader_rounds)
        )
        runs = size.failovers if failovers is None else failovers
        out["failover"] = asyncio.run(failover(cluster.url("failover"), runs, Path(tmp)))
    out["seconds"] = time.monotonic() - started
    print("\n".join(render(out)))
    return out


def render(d: dict[str, Any]) -> list[str]:
    t, lat, st, fo = d["throughput"], d["latency"], d["storage"], d["failover"]
    p99 = lat["extra_latency_s"]["p99"]

    def verdict(ok: bool) -> str:
        return "meets the bar" if ok else "MISSES the bar"

    single, agent_pps = t["single_node_probes_per_core_s"], t["agent_postgres_probes_per_core_s"]
    q = {k: v * 1000 for k, v in lat["extra_latency_s"].items()}
    short = lat["at_other_poll"]["extra_latency_s"]
    kib = {k: st[f"{k}_bytes_per_1000_probes"] / 1024 for k in ("table", "wal")}
    load = "/".join(f"{x:g}" for x in t["load_average_start_end"][::3])
    lines = [
        "Distributed mode (issue 14), PostgreSQL durable throwaway cluster",
        f"  single-node probes/s per core (probe + metrics)     {single:>9,.0f}",
        f"  agent probes/s per core, batched PostgreSQL writes {agent_pps:>9,.0f}"
        f"  = {t['ratio']:.1%} of single node (medians), paired {t['paired_ratio']:.1%}"
        f" (bar >= {BAR_RATIO:.0%} on the paired ratio:"
        f" {verdict(t['paired_ratio'] >= BAR_RATIO)}; load average {load})",
        f"  extra detection latency agent -> db -> leader: p50 {q['p50']:,.0f} ms,"
        f" p99 {q['p99']:,.0f} ms, max {q['max']:,.0f} ms ({lat['rounds_decided']} rounds;"
        f" bar p99 <= {BAR_P99:g} s: {verdict(p99 <= BAR_P99)}) at the leader's feed poll"
        f" of {lat['poll']:g} s (prober/service/role.py FEED_INTERVAL)",
        f"    same at a {lat['at_other_poll']['poll']:g} s poll:"
        f" p50 {short['p50'] * 1000:,.0f} ms,"
        f" p99 {short['p99'] * 1000:,.0f} ms, max {short['max'] * 1000:,.0f} ms",
        f"  per 1,000 probes: rows {st['rows_per_1000_probes']:,.0f}, table+index "
        f"{kib['table']:,.1f} KiB, WAL {kib['wal']:,.1f} KiB, total "
        f"{st['bytes_per_1000_probes'] / 1024:,.1f} KiB",
    ]
    ld = d["leader"]
    lines.append(
        f"  leader end to end (read + decode + quorum + engine + fenced writes): "
        f"{ld['rounds_per_cpu_s']:,.0f} merged rounds per CPU-second"
        f" ({ld['rows_per_cpu_s']:,.0f} round rows), {ld['rounds_per_wall_s']:,.0f} per wall second"
    )
    if fo.get("runs"):
        lines.append(
            f"  failover, kill -9 of the leader -> new leader elected: median "
            f"{fo['elected_s']['median']:.2f} s, max {fo['elected_s']['max']:.2f} s; -> its first "
            f"state write: median {fo['first_write_s']['median']:.2f} s, max "
            f"{fo['first_write_s']['max']:.2f} s ({fo['runs']} runs)"
        )
    else:
        lines.append(f"  failover: {fo.get('error', 'no runs')}")
    lines.append(f"  ({d['seconds']:.0f} s)")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke size")
    ap.add_argument("--failovers", type=int, default=None, help="failover runs")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    out = section(args.quick, args.failovers)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
