"""Find patients as the clinician types: by the start of a word of the family or given name
or of the MRN, case- and accent-folded, or, when asked, by a fragment inside those words.

Every word typed must start a word of the patient ("ada oka" finds OKAFOR, Ada; "dr-0042"
finds MRN DR-0042), looked up as index ranges of `patient_search_token`, so a search costs
what it finds, not the size of the clinic. A fragment inside a word ("kab" in Tokabe) is a
scan of the clinic's tokens: it runs only when asked for (`inside=True`), never on each
keystroke. A page is short; past it the matches are counted, up to `COUNT_UP_TO` (beyond
that the page says "more than"), so "N more" is never a guess.
"""

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, select

from spastic.access import visible_patients
from spastic.extensions import db
from spastic.models import Patient, PatientSearchToken, User
from spastic.patients.search_index import words

PAGE = 15  # about what a tablet shows without scrolling
MOST_SHOWN = 200  # "show more" grows a page up to this; past it, keep typing
COUNT_UP_TO = 1000
MOST_WORDS = 5  # "ada okafor dr 0042 ..." - more words only narrow a search that found it
INSIDE_FROM = 3  # characters: a shorter fragment inside words matches half the clinic


@dataclass(frozen=True)
class Found:
    """One page of a search, and how many matched in all."""

    patients: list[Patient]
    matches: int  # counted up to COUNT_UP_TO + 1
    inside: bool  # the words were looked for inside the patients' words

    @property
    def more(self) -> int:
        """How many matches the page does not show (a lower bound when `more_than`)."""
        return min(self.matches, COUNT_UP_TO) - len(self.patients)

    @property
    def more_than(self) -> bool:
        """True when counting stopped at COUNT_UP_TO: there are more than `more` more."""
        return self.matches > COUNT_UP_TO


def page_size(asked: int | None) -> int:
    """The rows a page shows: PAGE, or what "show more" asked for, in steps of PAGE."""
    if not asked or asked < PAGE:
        return PAGE
    return min(asked - asked % PAGE, MOST_SHOWN)


def can_look_inside(query: str) -> bool:
    """True when the query is long enough to be looked for inside words."""
    return any(len(word) >= INSIDE_FROM for word in words(query))


def find(user: User, query: str, *, shown: int = PAGE, inside: bool = False) -> Found:
    """Return the first `shown` patients the user may see that match, alphabetically (a
    patient whose MRN is the query exactly comes first), and how many match."""
    terms = words(query)[:MOST_WORDS]
    inside = inside and can_look_inside(query)
    if query.strip() and not terms:
        return Found([], 0, inside)  # only punctuation: it names no one
    select_ = visible_patients(user)
    # The longest word is likely the rarest: its patients are the candidates, and each
    # other word is checked on a candidate's own tokens (not listed for the whole clinic).
    terms.sort(key=len, reverse=True)
    for n, term in enumerate(terms):
        having = _having(term, inside)
        if n == 0:
            tokens = select(PatientSearchToken.patient_id).where(having)
            rarest = tokens.where(PatientSearchToken.clinic_id == user.clinic_id)
            select_ = select_.where(Patient.id.in_(rarest))
        else:
            select_ = select_.where(
                exists().where(PatientSearchToken.patient_id == Patient.id, having)
            )
    exact_mrn = case((func.lower(Patient.mrn) == query.strip().lower(), 0), else_=1)
    ordered = select_.order_by(exact_mrn, Patient.family_name, Patient.given_name, Patient.id)
    patients = list(db.session.scalars(ordered.limit(shown)))
    matches = len(patients)
    if matches == shown:  # a full page: count what it leaves out
        counted = select_.with_only_columns(Patient.id).limit(COUNT_UP_TO + 1).subquery()
        matches = db.session.scalar(select(func.count()).select_from(counted))
    return Found(patients, matches, inside)


def _having(term: str, inside: bool):
    """A token that starts with (or, inside, contains) `term`."""
    token = PatientSearchToken.token
    if inside:
        return token.contains(term, autoescape=True)
    # Words are letters and digits, compared as bytes: those starting with `term` are the
    # range from `term` up to `term` with its last character one higher.
    return and_(token >= term, token < term[:-1] + chr(ord(term[-1]) + 1))
