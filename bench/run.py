"""Run every benchmark, print a table and write bench/results.json."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_pdf, bench_visit_save
from bench.common import databases, machine

RESULTS = Path(__file__).with_name("results.json")


def main() -> None:
    results = []
    with databases() as targets:
        for name, url in targets:
            results.append(bench_visit_save.run(name, url))
            results.extend(bench_pdf.run(name, url))
    report = {"machine": machine(), "results": results}
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"machine: {report['machine']}")
    print(f"{'benchmark':58} {'median ms':>10} {'p95 ms':>8} {'baseline':>9} {'ratio':>6}")
    for row in results:
        m, b = row["measured"], row["baseline"]
        print(
            f"{row['name']:58} {m['median_ms']:>10} {m['p95_ms']:>8} "
            f"{b['median_ms']:>9} {row['ratio_median']:>6}"
        )


if __name__ == "__main__":
    main()
