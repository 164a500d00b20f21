"""The search index: each patient's name and MRN words, folded, kept current by the ORM.

A word is a run of letters and digits, case- and accent-folded ("Müller-Lüdenscheidt" ->
"muller", "ludenscheidt"); a name or MRN of several words is also kept run together
("mullerludenscheidt", "dr0042"), so "O'Brien" is found by "obr" as well as by "bri".
After each flush the tokens of every patient added, or whose name, MRN or clinic changed,
are written again in the same transaction, whichever module made the write; a patient
deleted takes its tokens along (ON DELETE CASCADE). Rows inserted around the ORM (a bulk
import) are indexed by `rebuild`.
"""

import re
import unicodedata
from collections.abc import Iterable

from sqlalchemy import delete, event, insert, inspect, select

from spastic.extensions import db
from spastic.models import Patient, PatientSearchToken

SEARCHED = ("family_name", "given_name", "mrn", "clinic_id")
TOKEN_LENGTH = 100  # the column's length; a longer word is kept by its start
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower-case `text` and take the accents off ("Ångström" -> "angstrom")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of `text`, in order (punctuation and spaces separate words)."""
    return _WORD.findall(fold(text))


def tokens_of(family_name: str, given_name: str, mrn: str) -> set[str]:
    """Every token a patient is found by: each word of each field, and each field's words
    run together."""
    found = set()
    for field in (family_name, given_name, mrn):
        parts = words(field or "")
        found.update(parts)
        found.add("".join(parts))
    found.discard("")
    return {token[:TOKEN_LENGTH] for token in found}


def _rows(patients: Iterable) -> list[dict]:
    return [
        {"patient_id": p.id, "clinic_id": p.clinic_id, "token": token}
        for p in patients
        for token in sorted(tokens_of(p.family_name, p.given_name, p.mrn))
    ]


def _write(connection, patients: list) -> None:
    ids = [p.id for p in patients]
    connection.execute(delete(PatientSearchToken).where(PatientSearchToken.patient_id.in_(ids)))
    rows = _rows(patients)
    if rows:
        connection.execute(insert(PatientSearchToken), rows)


def rebuild(session=None, patient_ids: Iterable[int] | None = None) -> None:
    """Index these patients (all when None) again from their stored rows (the caller commits)."""
    session = session or db.session
    columns = select(Patient.id, Patient.clinic_id, Patient.family_name, Patient.given_name)
    columns = columns.add_columns(Patient.mrn).order_by(Patient.id)
    if patient_ids is not None:
        columns = columns.where(Patient.id.in_(list(patient_ids)))
    patients = session.execute(columns).all()
    for start in range(0, len(patients), 1000):
        _write(session.connection(), patients[start : start + 1000])


def _reindex(session, _context) -> None:
    changed = [
        obj
        for obj in (*session.new, *session.dirty)
        if isinstance(obj, Patient)
        and (obj in session.new or any(_changed(obj, name) for name in SEARCHED))
    ]
    if changed:
        _write(session.connection(), changed)


def _changed(patient: Patient, name: str) -> bool:
    return inspect(patient).attrs[name].history.has_changes()


def install() -> None:
    """Listen on the app's sessions (once)."""
    if not event.contains(db.session, "after_flush", _reindex):
        event.listen(db.session, "after_flush", _reindex)


install()
