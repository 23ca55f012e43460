"""The chaos bench: ``.venv/bin/python -m bench.chaos [--light]`` — every fault of issue 11 in one table.

Collects the rows of every ``bench/chaos_*.py`` module (each exposes ``rows(heavy: bool) -> list[dict]`` with keys
fault, result, equal_to_clean, seconds, peak_rss_mb) and prints them as one markdown table (docs/reliability.md
holds the latest output).  Heavy variants (100,000-deep HTML, 45 MB page, 10,000-page PDF, …) run by default;
``--light`` runs the CI-sized ones.  Each module runs in its own process (its peak RSS is its own); a module
that fails gives one row saying so instead of stopping the bench.
"""

from __future__ import annotations

import argparse
import json
import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def modules() -> list[str]:
    return sorted(f"bench.{m.name}" for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("chaos_"))


def collect(heavy: bool, only: list[str] | None = None) -> list[dict]:
    out: list[dict] = []
    for name in modules():
        if only and not any(o in name for o in only):
            continue
        t = time.perf_counter()
        # each module in its own process: its peak RSS is its own (not the inputs another module generated)
        code = f"import json, {name} as m; print('\\n' + json.dumps(m.rows({heavy!r}), ensure_ascii=False))"
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE.parent,
                           env={**os.environ, "PYTHONPATH": str(HERE.parent)})
        try:
            out += json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):  # one broken module must not hide the others' rows
            sys.stderr.write(p.stderr[-4000:])
            out.append({"fault": name, "result": f"BENCH MODULE FAILED: exit {p.returncode}: "
                        f"{(p.stderr.strip().splitlines() or [''])[-1]}"[:200],
                        "equal_to_clean": "?", "seconds": round(time.perf_counter() - t, 2), "peak_rss_mb": 0.0})
    return out


def table(rows: list[dict]) -> str:
    lines = ["| fault | what happened | analytics equal to a clean run? | time (s) | peak RSS (MB) |",
             "|---|---|---|---:|---:|"]
    for r in rows:
        cells = [str(r["fault"]), str(r["result"]), str(r["equal_to_clean"]), f"{float(r['seconds']):.2f}",
                 f"{float(r['peak_rss_mb']):.0f}"]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.splitlines()[0])
    ap.add_argument("--light", action="store_true", help="CI-sized variants only")
    ap.add_argument("--only", action="append", help="only modules whose name contains this (repeatable)")
    args = ap.parse_args(argv)
    rows = collect(heavy=not args.light, only=args.only)
    print(table(rows))
    bad = [r for r in rows if "NOT AS EXPECTED" in str(r["result"]) or "FAILED" in str(r["result"])
           or str(r["equal_to_clean"]).startswith("NO")]
    print(f"\n{len(rows)} faults, {len(bad)} not as expected", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
