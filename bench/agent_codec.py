"""The agent's round encoding, plain codec against fastcodec (docs/PERFORMANCE.md, ledger
line "fastcodec"), side by side in one run.

    python -m bench.agent_codec [--rounds 200000] [--repeats 5] [--failing 0.01]

Each variant encodes the same rounds the way the agent does (`Agent._encode_rounds`: a
batch of 64 staged one-result rounds into RoundRows): results like a real HTTP probe's
(status 200, five phases) and a share `--failing` of failed ones (status 503 and a detail,
which take the plain path in both). CPU microseconds per round, median over the repeats,
the variants alternating.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence

from prober.distributed import codec, fastcodec
from prober.distributed.roundlog import RoundRow
from prober.probes.result import PHASES, ProbeResult, Reason

Encode = Callable[[Sequence[ProbeResult], Callable[[str], str]], bytes]
BATCH = 64


def rounds(n: int, failing: float) -> list[tuple[str, list[ProbeResult], Callable[[str], str]]]:
    every = round(1 / failing) if failing > 0 else 0
    out = []
    for i in range(n):
        check = f"check-{i % 1000}"
        phases = {p: (i % 7 + k) / 1000 for k, p in enumerate(PHASES)}
        if every and i % every == 0:
            r = ProbeResult(check, "api", 1.78e9 + i, Reason.HTTP_5XX, 0.05, 503,
                            "status 503, expected 200-299", phases)  # fmt: skip
        else:
            r = ProbeResult(check, "api", 1.78e9 + i, Reason.OK, 0.01, 200, "", phases)
        out.append((check, [r], str))
    return out


def encode_all(
    staged: list[tuple[str, list[ProbeResult], Callable[[str], str]]], encode: Encode
) -> float:
    cpu0 = time.process_time()
    for start in range(0, len(staged), BATCH):
        rows = []
        for check_id, results, redact in staged[start : start + BATCH]:
            payload = encode(results, redact)
            rows.append(RoundRow("eu", "agent-0", check_id, results[0].at, payload))
    return (time.process_time() - cpu0) / len(staged) * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--failing", type=float, default=0.01, help="share of failed rounds")
    args = ap.parse_args(argv)
    staged = rounds(args.rounds, args.failing)
    for _, results, _ in staged[:1000]:  # the same bytes, or the comparison means nothing
        assert fastcodec.encode(results) == codec.encode(results)
    runs: dict[str, list[float]] = {"plain": [], "fastcodec": []}
    for _ in range(args.repeats):
        runs["plain"].append(encode_all(staged, codec.encode))
        runs["fastcodec"].append(encode_all(staged, fastcodec.encode))
    med = {k: statistics.median(v) for k, v in runs.items()}
    out = {
        "rounds": args.rounds,
        "repeats": args.repeats,
        "failing": args.failing,
        "us_per_round": med,
        "speedup": med["plain"] / med["fastcodec"],
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
