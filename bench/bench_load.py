"""Throughput and latency under gunicorn (2 and 4 sync workers), and the memory of each worker.

Eight tablets (threads on 127.0.0.1, each with its own cookie jar and login) run a clinic's
mix, bounded in time and in request count: the patient list, patient pages, trend pages,
visit saves (open the form, post 24 grades) and PDF summaries - stored copies of signed
visits, and fresh renderings of the unsigned visits the tablet just saved. Baseline in the
same run: GET /healthz from the same tablets against the same workers. Each configuration
starts from a fresh database with the demo data, so both worker counts see the same history.
The load generator shares the machine's cores with gunicorn and the database.
"""

import http.client
import random
import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import fresh_database, latency, make_app, ratio, spread, visit_form
from tests.live_gunicorn import Client, LiveGunicorn, hidden

TABLETS = 8
WORKERS = (2, 4)
MIX = {  # what a tablet does next, and how often
    "patient list": 20,
    "patient page": 25,
    "trend page": 20,
    "visit save": 15,
    "PDF, stored copy": 10,
    "PDF, rendered": 10,
}
KINDS = (  # the requests measured; a visit save is two form requests and the post
    "patient list",
    "patient page",
    "trend page",
    "visit form",
    "visit save",
    "PDF, stored copy",
    "PDF, rendered",
)


@dataclass(frozen=True)
class Budget:
    mix_seconds: float
    healthz_seconds: float
    max_requests: int


FULL = Budget(mix_seconds=20, healthz_seconds=8, max_requests=20_000)
QUICK = Budget(mix_seconds=4, healthz_seconds=2, max_requests=2_000)


@dataclass(frozen=True)
class Clinic:
    """What the tablets work on: the demo clinic's patients and its signed visits."""

    url: str
    patients: list[int]
    signed_visits: list[int]  # the latest signed visit of each patient that has one


@dataclass
class Tablet:
    """One therapist's tablet: a cookie jar, a patient to record visits for, its timings."""

    client: Client
    clinic: Clinic
    own_patient: int
    rng: random.Random
    saved: list[int] = field(default_factory=list)
    samples: list[tuple[str, float]] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def reset(self) -> None:
        self.samples, self.errors, self.failures = [], Counter(), []

    def request(self, kind: str, path: str, form: dict | None = None, expect: int = 200):
        """One timed request; an unexpected status or a network error counts as an error."""
        start = time.perf_counter()
        try:
            reply = self.client.request("GET" if form is None else "POST", path, form)
        except (OSError, http.client.HTTPException) as error:
            self.errors[kind] += 1
            self.failures.append(f"{kind} {path}: {error!r}")
            return None
        self.samples.append((kind, time.perf_counter() - start))
        if reply.status != expect:
            self.errors[kind] += 1
            self.failures.append(f"{kind} {path}: {reply.status}")
            return None
        return reply

    def act(self, action: str) -> None:
        patient = self.rng.choice(self.clinic.patients)
        stored = self.rng.choice(self.clinic.signed_visits)
        if action == "patient list":
            self.request(action, "/patients")
        elif action == "patient page":
            self.request(action, f"/patients/{patient}")
        elif action == "trend page":
            self.request(action, f"/patients/{patient}/trend")
        elif action == "PDF, stored copy":
            self.request(action, f"/visits/{stored}/summary.pdf")
        elif action == "PDF, rendered" and self.saved:
            self.request(action, f"/visits/{self.saved[-1]}/summary.pdf")
        else:
            self.save_visit()

    def save_visit(self) -> None:
        """Open the visit form for the tablet's own patient and post 24 grades."""
        patient_page = self.request("patient page", f"/patients/{self.own_patient}")
        start = patient_page and {"csrf_token": hidden(patient_page.body, "csrf_token")}
        path = f"/patients/{self.own_patient}/visits/new"
        opened = start and self.request("visit form", path, start, expect=302)
        page = opened and self.request("visit form", opened.location)
        saved = page and self.request("visit save", opened.location, visit_form(page.body), 302)
        if saved:
            # "Review and sign" saves the visit unsigned and opens its review page.
            found = re.fullmatch(r"/visits/(\d+)(?:/review)?", saved.location)
            if found is None:
                self.errors["visit save"] += 1
                self.failures.append(f"visit save answered with {saved.location}")
            else:
                self.saved.append(int(found.group(1)))


def run(database: str, url: str, quick: bool = False) -> list[dict]:
    budget = QUICK if quick else FULL
    rows = []
    for workers in WORKERS:
        rows.extend(_configuration(database, url, workers, budget))
    return rows


def _configuration(database: str, url: str, workers: int, budget: Budget) -> list[dict]:
    label = f"{workers} workers ({database})"
    clinic = _demo_clinic(fresh_database(url, f"load_{workers}"))
    folder = Path(tempfile.mkdtemp(prefix="spastic-load-"))
    with LiveGunicorn(clinic.url, folder, workers=workers) as server:
        run = _measure(server, clinic, budget, label)
    if not run.warm_up_errors and not any(t.failures for t in run.tablets):
        shutil.rmtree(folder, ignore_errors=True)
    base = {
        "what": f"GET /healthz, {TABLETS} tablets, same workers",
        **latency(run.healthz),
        "requests_per_s": round(len(run.healthz) / run.healthz_s, 1),
        "errors": run.healthz_errors,
    }
    rows = _latency_rows(run.tablets, base, run.mix_s, label)
    rows.append(_throughput_row(run, base, label))
    rows.extend(_memory_rows(run.rss, label))
    _report_failures(run.tablets, label, server)
    return rows


@dataclass
class Measured:
    tablets: list[Tablet]
    healthz: list[float]
    healthz_s: float
    healthz_errors: int
    mix_s: float
    warm_up_errors: int
    rss: dict[str, dict[int, float]]  # when -> {worker pid: MiB}


def _measure(server: LiveGunicorn, clinic: Clinic, budget: Budget, label: str) -> Measured:
    """Boot, log in, warm up, the /healthz baseline, then the mix; RSS along the way."""
    rss = {"boot": _worker_rss(server)}
    tablets = [
        Tablet(Client(server.port, timeout=60), clinic, patient, random.Random(n))
        for n, patient in enumerate(clinic.patients[:TABLETS])
    ]
    _in_parallel(tablets, _log_in)
    _in_parallel(tablets, _warm_up)
    warm_up_errors = _report_failures(tablets, f"warm-up, {label}", server)
    rss["after warm-up"] = _worker_rss(server)
    healthz_s = _drive(tablets, _healthz, budget.healthz_seconds, budget.max_requests)
    healthz = [seconds for t in tablets for _, seconds in t.samples]
    healthz_errors = sum(sum(t.errors.values()) for t in tablets)
    mix_s = _drive(tablets, _mixed, budget.mix_seconds, budget.max_requests)
    rss["after the load"] = _worker_rss(server)
    return Measured(tablets, healthz, healthz_s, healthz_errors, mix_s, warm_up_errors, rss)


def _demo_clinic(url: str) -> Clinic:
    """Create the schema and the demo data; return the demo clinic's patients and visits."""
    from sqlalchemy import func, select

    from spastic.demo.seed import seed
    from spastic.extensions import db
    from spastic.models import Clinic as ClinicRow
    from spastic.models import Patient, Visit
    from spastic.reports.documents import store_summary

    app = make_app(url)
    with app.app_context():
        seed()
        patients = db.session.scalars(
            select(Patient.id).join(ClinicRow).where(ClinicRow.name == "Demo Rehab")
        ).all()
        latest = (
            select(func.max(Visit.id))
            .where(Visit.status == "signed", Visit.patient_id.in_(patients))
            .group_by(Visit.patient_id)
        )
        signed = db.session.scalars(latest).all()
        with app.test_request_context():  # stored as signing stores them: downloads never do
            for visit_id in signed:
                store_summary(visit_id)
        db.session.remove()
        db.engine.dispose()
    return Clinic(url, sorted(patients), sorted(signed))


def _drive(tablets: list[Tablet], step, seconds: float, max_requests: int) -> float:
    """Run `step` over and over on every tablet at once until the time or the requests run
    out; return the time taken (requests started before the end are waited for)."""
    deadline = time.perf_counter() + seconds

    def loop(tablet: Tablet) -> None:
        while time.perf_counter() < deadline and _requests(tablets) < max_requests:
            step(tablet)

    return _in_parallel(tablets, loop)


def _in_parallel(tablets: list[Tablet], work) -> float:
    """Run `work(tablet)` once per tablet, each in a thread; return the time taken."""
    failed = []

    def guarded(tablet: Tablet) -> None:
        try:
            work(tablet)
        except Exception as error:  # raised again in the caller's thread
            failed.append(error)

    for tablet in tablets:
        tablet.reset()
    threads = [threading.Thread(target=guarded, args=(t,)) for t in tablets]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]
    return time.perf_counter() - start


def _requests(tablets: list[Tablet]) -> int:
    return sum(len(t.samples) + sum(t.errors.values()) for t in tablets)


def _log_in(tablet: Tablet) -> None:
    from spastic.demo.seed import DEMO_PASSWORD

    tablet.client.login("therapist@demo.test", DEMO_PASSWORD)


def _warm_up(tablet: Tablet) -> None:
    for action in MIX:
        tablet.act(action)


def _healthz(tablet: Tablet) -> None:
    tablet.request("healthz", "/healthz")


def _mixed(tablet: Tablet) -> None:
    tablet.act(tablet.rng.choices(list(MIX), weights=list(MIX.values()))[0])


def _worker_rss(server: LiveGunicorn) -> dict[int, float]:
    """VmRSS of each gunicorn worker, in MiB."""
    found = {}
    for pid in server.worker_pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:  # a worker being replaced
            continue
        kib = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        found[pid] = round(int(kib.group(1)) / 1024, 1) if kib else 0.0
    return found


def _latency_rows(tablets: list[Tablet], base: dict, seconds: float, label: str) -> list[dict]:
    rows = []
    for kind in KINDS:
        samples = [s for t in tablets for k, s in t.samples if k == kind]
        measured = latency(samples)
        rows.append(
            {
                "name": f"load, {kind}, {label}",
                "baseline": base,
                "measured": measured,
                "ratio_median": ratio(measured["median_ms"], base["median_ms"]),
                "requests_per_s": round(len(samples) / seconds, 1),
                "errors": sum(t.errors[kind] for t in tablets),
            }
        )
    return rows


def _throughput_row(run: Measured, base: dict, label: str) -> dict:
    done = sum(len(t.samples) for t in run.tablets)
    per_second = round(done / run.mix_s, 1)
    replaced = set(run.rss["boot"]) - set(run.rss["after the load"])
    return {
        "name": f"load, all requests (req/s), {label}",
        "unit": "req/s",
        "baseline": {"what": base["what"], "n": base["n"], "median": base["requests_per_s"]},
        "measured": {"n": done, "median": per_second},
        "ratio_median": ratio(per_second, base["requests_per_s"]),
        "seconds": round(run.mix_s, 1),
        "tablets": len(run.tablets),
        "errors": sum(sum(t.errors.values()) for t in run.tablets),
        "warm_up_errors": run.warm_up_errors,
        "workers_replaced": len(replaced),
    }


def _memory_rows(rss: dict[str, dict[int, float]], label: str) -> list[dict]:
    boot = list(rss["boot"].values())
    base = {"what": "worker RSS right after boot", **spread(boot)}
    rows = []
    for when in ("after warm-up", "after the load"):
        measured = spread(list(rss[when].values()))
        rows.append(
            {
                "name": f"worker RSS {when}, {label}",
                "unit": "MiB",
                "baseline": base,
                "measured": measured,
                "ratio_median": ratio(measured["median"], base["median"]),
                "per_worker_mib": sorted(rss[when].values()),
            }
        )
    return rows


def _report_failures(tablets: list[Tablet], label: str, server: LiveGunicorn) -> int:
    failures = [f for t in tablets for f in t.failures]
    if failures:
        print(f"load {label}: {len(failures)} errors, e.g. {failures[:3]}", flush=True)
        print(f"  gunicorn log kept in {server.log_path}", flush=True)
    return len(failures)
