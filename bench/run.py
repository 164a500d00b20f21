"""Run every benchmark, print a table and write bench/results.json.

`--quick` repeats each measurement fewer times and shortens the load runs: a smoke run
that checks every benchmark works, not figures to quote (written to results-quick.json).
`--only pages,search` and `--database sqlite` run a part (written to results-partial.json).
`--markdown results.json` runs nothing: it prints a stored run as the README's table.
"""

import argparse
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    bench_load,
    bench_pages,
    bench_pdf,
    bench_search,
    bench_size,
    bench_trend,
    bench_visit_save,
    bench_workers,
    bench_worklist,
)
from bench.common import databases, machine

RESULTS = Path(__file__).with_name("results.json")
QUICK_RESULTS = RESULTS.with_name("results-quick.json")  # a smoke run keeps the real figures
PARTIAL_RESULTS = RESULTS.with_name("results-partial.json")  # --only / --database
# Issue "Speed and scale": each target is a ratio to the row's own baseline (same run), except
# compute_trend's, which is a time. (row name pattern, comparison, bound, what the bound is on)
TARGETS = (
    (r"^visit save, 24 grades", "<=", 4, "x"),
    (r"^patient page \(", "<=", 3, "x"),
    (r"^visit form, 24 grades", "<=", 3, "x"),
    (r"^trend page, 100 visits", "<=", 3, "x"),
    (r"^trend page, 1000 visits", "<=", 10, "x"),
    (r"^scoring: compute_trend, 1000 visits", "<=", 50, "ms"),
    (r"^PDF warm, through the app", "<=", 1.2, "x"),
    (r"^PDF cached \(stored\), through the app", "<=", 3, "x"),
    # WeasyPrint within 1.5x Chromium's time: Chromium's row is Chromium / WeasyPrint.
    (r"^same HTML, headless Chromium print", ">=", round(1 / 1.5, 2), "x"),
    (r"^patient page throughput, 2 workers vs 1", ">=", 1.6, "x"),
    (r"^worklist, 10,000 patients", "<=", 3, "x"),
    (r"^patient search, 10,000 patients", "<=", 3, "x"),
)
BENCHMARKS = (
    "scoring",
    "visit save",
    "pages",
    "pdf",
    "trend pages",
    "search",
    "worklist",
    "size",
    "load",
    "workers",
)
# Repetitions per benchmark: (full, quick).
REPEAT = {"visit_save": (60, 10), "pdf": (20, 5), "scoring": (7, 3), "pages": (7, 3)}


def main() -> None:
    options = _options()
    if options.markdown:
        print(markdown(json.loads(Path(options.markdown).read_text())))
        return
    quick = options.quick
    only = set(options.only.split(",")) if options.only else None
    repeat = {name: counts[quick] for name, counts in REPEAT.items()}
    started = time.perf_counter()
    about = {**machine(), "load_average_at_start": round(os.getloadavg()[0], 2)}
    spent: dict[str, float] = {}

    failed: dict[str, str] = {}

    def measure(benchmark: str, call, *args) -> list[dict]:
        """One benchmark's rows; a benchmark that fails is reported and the others still run."""
        if only is not None and benchmark not in only:
            return []
        start = time.perf_counter()
        try:
            found = call(*args)
        except Exception:
            where = f"{benchmark} ({args[0]})" if args and isinstance(args[0], str) else benchmark
            failed[where] = traceback.format_exc()
            print(f"FAILED {where}:\n{failed[where]}", file=sys.stderr, flush=True)
            found = []
        spent[benchmark] = round(spent.get(benchmark, 0) + time.perf_counter() - start, 1)
        rows = found if isinstance(found, list) else [found]
        for row in rows:  # as they come, so a long run shows its figures before it ends
            print(f"{row['name']}: ratio {row.get('ratio_median')}", flush=True)
        return rows

    results = measure("scoring", bench_trend.run_scoring, repeat["scoring"])
    with databases() as targets:
        for name, url in targets:
            if options.database and name != options.database:
                continue
            results += measure("visit save", bench_visit_save.run, name, url, repeat["visit_save"])
            results += measure("pages", bench_pages.run, name, url, repeat["visit_save"])
            results += measure("pdf", bench_pdf.run, name, url, repeat["pdf"])
            results += measure("trend pages", bench_trend.run_pages, name, url, repeat["pages"])
            results += measure("search", bench_search.run, name, url, quick)
            results += measure("worklist", bench_worklist.run, name, url, quick)
            results += measure("size", bench_size.run, name, url, quick)
            results += measure("load", bench_load.run, name, url, quick)
            results += measure("workers", bench_workers.run, name, url, quick)
    report = {
        "machine": about,
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "quick": quick,
        "seconds": round(time.perf_counter() - started),
        "seconds_by_benchmark": spent,
        "results": results,
        "failed": failed,
    }
    for row in results:
        row["target"], row["verdict"] = judge(row)
    partial = only is not None or options.database
    written = PARTIAL_RESULTS if partial else QUICK_RESULTS if quick else RESULTS
    written.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"written to {written}")
    if failed:
        sys.exit(f"{len(failed)} benchmark(s) failed: {', '.join(failed)}")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument(
        "--only",
        help=f"comma-separated benchmarks to run ({', '.join(BENCHMARKS)}); the rest are skipped",
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), help="one database only")
    parser.add_argument(
        "--markdown", metavar="RESULTS", help="print a stored run (results.json) as a table"
    )
    options = parser.parse_args()
    unknown = set(options.only.split(",")) - set(BENCHMARKS) if options.only else set()
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return options


def print_table(report: dict) -> None:
    print(f"machine: {report['machine']}")
    print(
        f"{'benchmark':66} {'median':>9} {'p95':>9} {'p99':>9} {'baseline':>9} {'ratio':>6} "
        f"{'unit':6} target"
    )
    for row in report["results"]:
        median, p95, p99 = _figures(row["measured"])
        base, _, _ = _figures(row["baseline"])
        target, verdict = judge(row)
        print(
            f"{row['name']:66} {median:>9} {p95:>9} {p99:>9} {base:>9} "
            f"{row['ratio_median']:>6} {row.get('unit', 'ms'):6} {target} {verdict}"
        )
    for row in report["results"]:
        if row.get("errors") or row.get("warm_up_errors"):
            print(f"ERRORS in {row['name']}: {row.get('errors')} (+{row.get('warm_up_errors', 0)})")
    print(f"{len(report['results'])} figures in {report['seconds']} s")
    print(f"seconds per benchmark: {report['seconds_by_benchmark']}")


def markdown(report: dict) -> str:
    """A stored run as the README's Markdown table: one line per benchmark, its SQLite and
    PostgreSQL figures side by side (median, baseline, ratio, verdict), the machine and load
    it ran on. The load run's per-page rows are left out (its total throughput stays)."""
    about = report["machine"]
    lines = [
        f"Full run of {report.get('finished', 'an unrecorded date')}: {about.get('cores')} cores, "
        f"{about.get('memory_gib')} GiB, Python {about.get('python')}, load average "
        f"{about.get('load_average_at_start')} at the start, {report['seconds']} s"
        + (" (a quick run: not figures to quote)" if report.get("quick") else "")
        + ".",
        "",
        "| benchmark (median) | SQLite | PostgreSQL | baseline, same run (SQLite / PostgreSQL) "
        "| target |",
        "|---|---|---|---|---|",
    ]
    by_name: dict[str, dict[str, dict]] = {}
    for row in report["results"]:
        if re.match(r"load, (?!all requests)", row["name"]):
            continue
        found = re.match(r"(.*) \((sqlite|postgresql)\)$", row["name"])
        name, database = found.groups() if found else (row["name"], "sqlite")
        by_name.setdefault(name, {})[database] = row

    def cell(row: dict | None) -> str:
        if row is None:  # a row measured once, with no database (compute_trend)
            return "(pure)"
        median, _, _ = _figures(row["measured"])
        return f"{median} {row.get('unit', 'ms')} ({row['ratio_median']}x)"

    for name, rows in by_name.items():
        first = rows.get("sqlite") or rows["postgresql"]
        bases = " / ".join(str(_figures(r["baseline"])[0]) for r in rows.values())
        verdicts = " / ".join(v for v in (judge(r)[1] for r in rows.values()) if v)
        target = judge(first)[0]
        lines.append(
            f"| {name} | {cell(rows.get('sqlite'))} | {cell(rows.get('postgresql'))} | "
            f"{first['baseline'].get('what', '')}: {bases} | "
            f"{target + ': ' + verdicts if target else ''} |"
        )
    return "\n".join(lines)


def judge(row: dict) -> tuple[str, str]:
    """The row's target and whether this run meets it ('', '' for rows without one)."""
    for pattern, comparison, bound, on in TARGETS:
        if re.search(pattern, row["name"]):
            figure = row["measured"]["median_ms"] if on == "ms" else row["ratio_median"]
            meets = figure <= bound if comparison == "<=" else figure >= bound
            return f"{comparison} {bound}{on}", "meets" if meets else "MISSES"
    return "", ""


def _figures(part: dict) -> tuple:
    """(median, p95, p99) of a measurement in ms, or in the row's own unit; '-' if absent."""
    suffix = "_ms" if "median_ms" in part else ""
    return tuple(part.get(f"{key}{suffix}", "-") for key in ("median", "p95", "p99"))


if __name__ == "__main__":
    main()
