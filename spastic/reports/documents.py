"""The physician's PDF visit summary: stored when a visit is signed or amended, served from storage.

A signed visit's summary is frozen: it is rendered once, when the signature (or an amendment,
a new version) is committed, and every download, share-link opening and FHIR DocumentReference
serves that stored copy, whatever was entered since. Downloads never write: a signed visit with
no stored copy (signed before this rule, or whose rendering failed) is rendered for each
download and not stored; a draft is always rendered afresh, marked DRAFT.
"""

import hashlib
import io
import json

from flask import Response, abort, current_app, render_template, send_file
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from spastic.exports.facts import visit_bundle_for
from spastic.extensions import db
from spastic.models import SummaryDocument, Visit, utcnow
from spastic.reports import pdf
from spastic.reports.summary import summary_context
from spastic.trends.charts import data_uri, trend_chart

PAPER = {"A4": "A4", "Letter": "letter"}
DRAFT_CSS = (
    '@page { @top-center { content: "DRAFT - not signed"; color: #a4161a; font: 700 10pt '
    '"Noto Sans"; } }'
)


def summary_pdf_bytes(visit: Visit) -> bytes:
    """Return the summary PDF to serve: a signed visit's newest stored copy, else a rendering."""
    if visit.status == "signed":
        stored = db.session.scalar(
            select(SummaryDocument.pdf)
            .where(SummaryDocument.visit_id == visit.id)
            .order_by(SummaryDocument.id.desc())
            .limit(1)
        )
        if stored is not None:
            return stored
    return _rendered(visit, store=False)


def store_summary(visit_id: int) -> None:
    """Render and keep the summary of a visit's signed version (after a sign or amendment).

    Called once the signature is committed: a rendering that fails leaves the visit signed
    and its summary rendered at each download instead, and is logged.
    """
    visit = db.session.get(Visit, visit_id)
    if visit is None or visit.status != "signed":
        return
    try:
        _rendered(visit, store=True)
        db.session.commit()
    except Exception:  # the signature stands; the summary is rendered on download instead
        db.session.rollback()
        current_app.logger.exception("summary of visit %s not stored", visit_id)


def _rendered(visit: Visit, *, store: bool) -> bytes:
    """Render the summary; with `store`, keep it (once per content) in the session."""
    context, attachment = summary_sources(visit)
    # The chart is a pure function of the trend (its SVG has random ids), so the key leaves it out.
    skeleton = render_template("reports/summary.html", chart_uri="", **context)
    key = hashlib.sha256(skeleton.encode() + attachment.content).hexdigest()
    stored = db.session.scalar(
        select(SummaryDocument).where(
            SummaryDocument.visit_id == visit.id, SummaryDocument.content_key == key
        )
    )
    if stored is not None:
        return stored.pdf
    chart = data_uri(trend_chart(context["trend"], width=720, height=300))
    html = render_template("reports/summary.html", chart_uri=chart, **context)
    page_css, signed, visit_id = _page_css(visit), visit.status == "signed", visit.id
    # Render with no transaction open: on SQLite an open transaction holds the write lock,
    # and a render takes a few hundred milliseconds that other requests would wait through.
    db.session.rollback()
    try:
        body = pdf.render(html, (attachment,), extra_css=page_css)
    except pdf.RenderTimeout:
        abort(503)
    if store and signed:  # a draft changes: never stored
        _store(visit_id, key, body)
    return body


def _store(visit_id: int, key: str, body: bytes) -> None:
    """Keep the rendering; a concurrent first download of the same content stores it once."""
    values = {
        "visit_id": visit_id,
        "content_key": key,
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "pdf": body,
        "created_at": utcnow(),
    }
    insert = sqlite_insert if db.session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = insert(SummaryDocument).values(**values)
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["visit_id", "content_key"]))


def pdf_response(visit: Visit, body: bytes) -> Response:
    """Serve summary PDF bytes inline, named after the patient's MRN and the visit date.

    send_file names it with RFC 6266/5987 `filename*` (UTF-8) and an ASCII `filename`
    fallback: an MRN such as "ΩMEGA-1" would otherwise make a header gunicorn cannot send.
    """
    filename = f"summary-{visit.patient.mrn}-{visit.visit_date.isoformat()}.pdf"
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in filename)
    response = send_file(
        io.BytesIO(body),
        mimetype="application/pdf",
        download_name=safe,
        as_attachment=False,
        conditional=False,
        etag=False,
    )
    return response


def summary_sources(visit: Visit) -> tuple[dict, pdf.Attachment]:
    """The summary's template context and its embedded FHIR Bundle (machine-readable copy)."""
    context = summary_context(visit, visit.patient.clinic)
    bundle = visit_bundle_for(visit)
    content = json.dumps(bundle, indent=1, sort_keys=True).encode()
    return context, pdf.Attachment(
        "visit-fhir-r4.json", content, "FHIR R4 Bundle of this visit", "application/fhir+json"
    )


def _page_css(visit: Visit) -> str:
    size = PAPER.get(visit.patient.clinic.paper_size, "A4")
    css = f"@page {{ size: {size}; }}"
    return css + (DRAFT_CSS if visit.status != "signed" else "")
