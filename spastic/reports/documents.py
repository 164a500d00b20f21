"""The physician's PDF visit summary: stored after signing or amendment, served from storage.

A signed visit's summary is frozen: each version (1 as signed, one more per amendment) is
rendered once, after its signature or amendment is committed, off the signing request (see
`queue.py`), from what was known then (`known`), and every download, share-link opening and
FHIR DocumentReference serves that one stored copy (the same bytes, the same SHA-256),
whatever was entered since. Downloads never write: one that arrives while its version's job is
still in flight waits for it briefly (`SUMMARY_WAIT_SECONDS`) and serves the stored copy; a
signed version with no stored copy and no job in flight (signed before this rule, a job lost
with its process, a rendering that failed) is rendered, from the same cut-off, for the download
and not stored - the queue's sweep stores it. A draft is always rendered afresh, marked DRAFT.
"""

import hashlib
import io
import json
from types import SimpleNamespace

from flask import Response, abort, current_app, render_template, send_file
from sqlalchemy import Row, Select, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import defer

from spastic.access import visible_patients
from spastic.exports.facts import visit_bundle_for
from spastic.extensions import db
from spastic.models import Amendment, Patient, SummaryDocument, User, Visit, utcnow
from spastic.reports import pdf
from spastic.reports.known import Known, dose_changes_known, known_for
from spastic.reports.summary import summary_context
from spastic.trends.charts import data_uri, trend_chart

PAPER = {"A4": "A4", "Letter": "letter"}
DRAFT_CSS = (
    '@page { @top-center { content: "DRAFT - not signed"; color: #a4161a; font: 700 10pt '
    '"Noto Sans"; } }'
)


def summary_pdf_bytes(visit: Visit, version: int | None = None) -> bytes:
    """Return the PDF of one summary version (the newest by default): its stored copy (waiting
    briefly for its job when one is in flight), else a rendering of that version (not stored:
    a download writes nothing).

    Raises ValueError for a version the visit does not have.
    """
    known = known_for(visit, version)
    if visit.status == "signed":
        visit_id = visit.id
        stored = _stored_pdf(visit_id, known.version)
        if stored is None:
            seconds = current_app.config["SUMMARY_WAIT_SECONDS"]
            current_app.extensions["summary_queue"].wait(visit_id, known.version, seconds)
            db.session.rollback()  # a new read sees what the job committed meanwhile
            stored = _stored_pdf(visit_id, known.version)
        if stored is not None:
            return stored
    return _rendered(visit, known, store=False)


def stored_copy(user: User, visit_id: int, version: int | None = None) -> Row | None:
    """The stored PDF of a visit's version (the newest by default) if the user may see the
    patient, with what names the file: one query (`pdf`, `mrn`, `visit_date`, `patient_id`).

    None when there is no such stored copy or the user may not see it: the caller then takes
    the full path (`visit_for`, `summary_pdf_bytes`), which answers 404 or renders.
    """
    values = {"clinic_id": user.clinic_id, "user_id": user.id, "visit_id": visit_id}
    if version is not None:
        values["version"] = version
    query = _stored_copy_query(user.role, newest=version is None)
    return db.session.execute(query, values).one_or_none()


_queries: dict[tuple[str, bool], Select] = {}


def _stored_copy_query(role: str, *, newest: bool) -> Select:
    """`stored_copy`'s statement for one role, built once (`access.visible_patients`, with the
    viewer's ids as parameters): building it for every download cost more than running it."""
    key = (role, newest)
    if key not in _queries:
        viewer = SimpleNamespace(
            role=role, id=bindparam("user_id"), clinic_id=bindparam("clinic_id")
        )
        amendments = (
            select(func.count(Amendment.id))
            .where(Amendment.visit_id == Visit.id)
            .correlate(Visit)
            .scalar_subquery()
        )
        _queries[key] = (
            visible_patients(viewer)
            .with_only_columns(SummaryDocument.pdf, Patient.mrn, Visit.visit_date, Visit.patient_id)
            .select_from(Patient)
            .join(Visit, Visit.patient_id == Patient.id)
            .join(SummaryDocument, SummaryDocument.visit_id == Visit.id)
            .where(
                Visit.id == bindparam("visit_id"),
                Visit.status == "signed",
                Visit.discarded_at.is_(None),
                SummaryDocument.version == (1 + amendments if newest else bindparam("version")),
            )
        )
    return _queries[key]


def _stored_pdf(visit_id: int, version: int) -> bytes | None:
    return db.session.scalar(
        select(SummaryDocument.pdf).where(
            SummaryDocument.visit_id == visit_id, SummaryDocument.version == version
        )
    )


def stored_versions(visit: Visit) -> dict[int, SummaryDocument]:
    """The visit's stored summary versions (without their bytes loaded), by version."""
    rows = db.session.scalars(
        select(SummaryDocument)
        .where(SummaryDocument.visit_id == visit.id)
        .options(defer(SummaryDocument.pdf))
        .order_by(SummaryDocument.version)
    )
    return {row.version: row for row in rows}


def store_summary(visit_id: int, version: int | None = None, *, raise_errors=False) -> bool:
    """Render and keep one summary version of a signed visit (the newest by default); return
    whether this call stored it (False: stored already, not signed, or the rendering failed).

    Runs once the signature is committed (a queue's job): a rendering that fails leaves the
    visit signed and its summary rendered at each download instead, and is logged - or raised
    with `raise_errors`, for a job queue that retries and keeps the error.
    """
    visit = db.session.get(Visit, visit_id)
    if visit is None or visit.status != "signed":
        db.session.rollback()
        return False
    try:
        known = known_for(visit, version)
        if _stored_pdf(visit_id, known.version) is not None:
            db.session.rollback()
            return False
        _rendered(visit, known, store=True)
        db.session.commit()
        return True
    except Exception:  # the signature stands; the summary is rendered on download instead
        db.session.rollback()
        if raise_errors:
            raise
        current_app.logger.exception("summary of visit %s not stored", visit_id)
        return False


def _rendered(visit: Visit, known: Known, *, store: bool) -> bytes:
    """Render one summary version; with `store`, keep it (once per version) in the session."""
    context, attachment = summary_sources(visit, known)
    signed, visit_id = visit.status == "signed", visit.id
    store = store and signed  # a draft changes: never stored
    key = ""
    if store:  # the chart is a pure function of the trend, drawn after the key: left out of it
        skeleton = render_template("reports/summary.html", chart_uri="", **context)
        key = hashlib.sha256(skeleton.encode() + attachment.content).hexdigest()
    html = summary_html(context)
    page_css = _page_css(visit)
    # Render with no transaction open: on SQLite an open transaction holds the write lock,
    # and a render takes a few hundred milliseconds that other requests would wait through.
    db.session.rollback()
    try:
        body = pdf.render(html, (attachment,), extra_css=page_css)
    except pdf.RenderTimeout:
        abort(503)
    if store:
        _store(visit_id, known.version, key, body)
    return body


def page_count(visit: Visit, known: Known) -> int:
    """How many pages the summary takes: laid out as `_rendered` renders it, not drawn."""
    context, attachment = summary_sources(visit, known)
    return len(pdf.layout(summary_html(context), (attachment,), _page_css(visit)).pages)


def summary_html(context: dict) -> str:
    """The summary's HTML from its context (`summary_sources`), its trend chart drawn in."""
    chart = data_uri(trend_chart(context["trend"], *context["chart_size"]))
    return render_template("reports/summary.html", chart_uri=chart, **context)


def _store(visit_id: int, version: int, key: str, body: bytes) -> None:
    """Keep the rendering; a second rendering of the same version (at once) stores nothing."""
    values = {
        "visit_id": visit_id,
        "version": version,
        "content_key": key,
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "pdf": body,
        "created_at": utcnow(),
    }
    insert = sqlite_insert if db.session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = insert(SummaryDocument).values(**values)
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["visit_id", "version"]))


def pdf_response(visit: Visit, body: bytes) -> Response:
    """Serve a visit's summary PDF bytes inline (see `named_pdf_response`)."""
    return named_pdf_response(visit.patient.mrn, visit.visit_date, body)


def named_pdf_response(mrn: str, visit_date, body: bytes) -> Response:
    """Serve summary PDF bytes inline, named after the patient's MRN and the visit date.

    send_file names it with RFC 6266/5987 `filename*` (UTF-8) and an ASCII `filename`
    fallback: an MRN such as "ΩMEGA-1" would otherwise make a header gunicorn cannot send.
    """
    filename = f"summary-{mrn}-{visit_date.isoformat()}.pdf"
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in filename)
    return send_file(
        io.BytesIO(body),
        mimetype="application/pdf",
        download_name=safe,
        as_attachment=False,
        conditional=False,
        etag=False,
    )


def summary_sources(visit: Visit, known: Known) -> tuple[dict, pdf.Attachment]:
    """One version's template context and its embedded FHIR Bundle (machine-readable copy),
    both from what was known when it was made."""
    context = summary_context(visit, visit.patient.clinic, known)
    bundle = visit_bundle_for(visit, known.own_at, dose_changes_known(visit, known))
    content = json.dumps(bundle, indent=1, sort_keys=True).encode()
    return context, pdf.Attachment(
        "visit-fhir-r4.json", content, "FHIR R4 Bundle of this visit", "application/fhir+json"
    )


def _page_css(visit: Visit) -> str:
    size = PAPER.get(visit.patient.clinic.paper_size, "A4")
    css = f"@page {{ size: {size}; }}"
    return css + (DRAFT_CSS if visit.status != "signed" else "")
