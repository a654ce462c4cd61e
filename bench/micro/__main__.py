"""``python -m bench.micro``: time every case, print the table and the targets, write the JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.micro import runner
from bench.micro.cases import cases

RESULTS = Path(__file__).resolve().parents[1] / "results" / "micro.json"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0 (missed targets are reported, not failed)."""
    parser = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__)
    parser.add_argument("--repeat", type=int, default=25, help="batches per implementation (default 25)")
    parser.add_argument("--batch-ms", type=float, default=20.0, help="length of one batch (default 20 ms)")
    parser.add_argument("--quick", action="store_true", help="5 batches of 5 ms: a smoke test, not figures")
    parser.add_argument("--only", default="", help="run the cases whose name contains this text")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    repeat, batch_s = (5, 0.005) if args.quick else (args.repeat, args.batch_ms / 1000)
    selected = [case for case in cases() if args.only in case.name]
    info = runner.machine()
    print(
        f"{info['cpu_model']} ({info['cores']} cores), Python {info['python']}, {info['openssl']}, "
        f"compiled kernels: {'yes, digests via ' + info['digest_backend'] if info['compiled_kernels'] else 'no'}; "
        f"{repeat} interleaved batches of {batch_s * 1000:g} ms per implementation, minimum shown",
        file=sys.stderr,
    )
    records = []
    for case in selected:
        print(f"  timing {case.name} ...", file=sys.stderr, flush=True)
        records.append(runner.summarise(case, runner.measure(case, repeat, batch_s)))
    print(runner.table(records))
    notes = sorted({r["note"] for r in records if "note" in r})
    if notes:
        print("\n" + "\n".join(f"note: {note}" for note in notes))
    if any("target" in r for r in records):
        print("\ntargets (issue 4):\n" + runner.targets(records))
    if not args.no_write:
        document = {
            "benchmark": "hot-path kernels: compiled (engine._fast) vs pure (engine._pyref) vs plain stdlib",
            "machine": info,
            "method": {
                "repeat": repeat,
                "batch_ms": batch_s * 1000,
                "statistic": "min over batches (median, max kept)",
                "interleaved": True,
                "gc": "disabled during batches",
            },
            "cases": records,
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(document, indent=2) + "\n")
        print(f"\nwrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
