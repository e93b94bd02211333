"""prober's benchmark suite: `python -m bench` measures prober next to its baselines.

Modules: `procstat` (CPU, RSS, cores from /proc), `targets` (nginx, a light asyncio target,
blackbox_exporter as subprocesses), `worker` (one measured workload per pinned process),
`loadgen` (open-loop HTTP load generator), `scale` (10,000 checks in a real `prober run`),
`bars` (the performance bar of issue 6), `report` (table), `__main__` (the command).
"""
