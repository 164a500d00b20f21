"""Does an audited page scale with gunicorn workers? Patient-page throughput, 2 workers vs 1.

Issue "Speed and scale", target 4: with 2 sync workers at least 1.6x the requests per second of
one worker, on SQLite and on PostgreSQL. Every patient page is audited (one row, appended at
the end of the request in a short write); before, the whole request held SQLite's write lock.

The load generator is Debian's ApacheBench (`ab`, package apache2-utils: C, a few percent of a
core at these rates), CONCURRENCY requests in flight on 127.0.0.1, logged in as the demo
therapist. Baseline in the same run: the same workers' GET /healthz. The machine has 2 cores,
shared by ab, gunicorn and (for PostgreSQL) the database server: the ideal is 2x.
"""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.bench_load import _demo_clinic
from bench.common import fresh_database, ratio
from tests.live_gunicorn import Client, LiveGunicorn

CONCURRENCY = 4
TARGET = 1.6
REQUESTS = {False: 600, True: 100}  # per measurement: full, quick


def run(database: str, url: str, quick: bool = False) -> list[dict]:
    if shutil.which("ab") is None:
        raise RuntimeError("ab not found: `make bench` installs Debian's apache2-utils")
    clinic = _demo_clinic(fresh_database(url, "workers"))
    patient = clinic.patients[0]
    figures = {}
    for workers in (1, 2):
        folder = Path(tempfile.mkdtemp(prefix="spastic-workers-"))
        with LiveGunicorn(clinic.url, folder, workers=workers) as server:
            tablet = Client(server.port)
            tablet.login("therapist@demo.test", "spastic-demo")
            cookie = "; ".join(f"{k}={v}" for k, v in tablet.cookies.items())
            page = f"http://127.0.0.1:{server.port}/patients/{patient}"
            _ab(page, cookie, 20)  # warm up both workers
            figures[workers] = {
                "patient page": _ab(page, cookie, REQUESTS[quick]),
                "healthz": _ab(f"http://127.0.0.1:{server.port}/healthz", "", REQUESTS[quick]),
            }
        shutil.rmtree(folder, ignore_errors=True)
    rows = []
    for kind in ("patient page", "healthz"):
        one, two = figures[1][kind], figures[2][kind]
        rows.append(
            {
                "name": f"{kind} throughput, 2 workers vs 1 ({database})",
                "what": f"ab -c {CONCURRENCY}, {REQUESTS[quick]} requests, req/s",
                "measured": {"median": two},
                "baseline": {"median": one, "what": "the same page, 1 worker"},
                "ratio_median": ratio(two, one),
                "unit": "req/s",
                **({"target": f">= {TARGET}x"} if kind == "patient page" else {}),
            }
        )
    return rows


def _ab(url: str, cookie: str, requests: int) -> float:
    """Requests per second that ab measured; every answer must be a 200."""
    command = ["ab", "-q", "-n", str(requests), "-c", str(CONCURRENCY)]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=600
    ).stdout
    # ab counts a body whose length differs from the first as "failed (Length)": a page that
    # names the time is not an error; non-2xx answers, refused or cut connections are.
    non_2xx = re.search(r"^Non-2xx responses:\s+(\d+)", output, re.M)
    broken = re.search(
        r"\(Connect: (\d+), Receive: (\d+), Length: \d+, Exceptions: (\d+)\)", output
    )
    if (non_2xx and int(non_2xx.group(1))) or (broken and any(int(n) for n in broken.groups())):
        raise RuntimeError(f"ab saw errors at {url}:\n{output}")
    return float(re.search(r"Requests per second:\s+([\d.]+)", output).group(1))
