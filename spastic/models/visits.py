"""Visits and what they record: MAS grades, Tardieu, side effects; drafts and amendments."""

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from spastic.models.accounts import User
from spastic.models.base import Base, UTCDateTime, utcnow
from spastic.models.patients import Patient

GRADES_SQL = "('0', '1', '1+', '2', '3', '4')"
DISCARD_REASON_MAX = 300
AMEND_REASON_MAX = 1000  # an amendment's reason: refused past this, never cut short


class Visit(Base):
    __tablename__ = "visit"
    __table_args__ = (
        Index("ix_visit_patient_date", "patient_id", "visit_date"),
        CheckConstraint("status IN ('draft', 'signed')", name="status_known"),
        CheckConstraint("pain_now BETWEEN 0 AND 10", name="pain_now_range"),
        CheckConstraint("pain_worst BETWEEN 0 AND 10", name="pain_worst_range"),
        CheckConstraint("penn_frequency BETWEEN 0 AND 4", name="penn_frequency_range"),
        CheckConstraint(
            "penn_severity IS NULL OR (penn_severity BETWEEN 1 AND 3 AND penn_frequency > 0)",
            name="penn_severity_needs_frequency",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    visit_date: Mapped[date] = mapped_column(Date)
    rater: Mapped[str] = mapped_column(String(120))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    pain_now: Mapped[int | None] = mapped_column(Integer)
    pain_worst: Mapped[int | None] = mapped_column(Integer)
    penn_frequency: Mapped[int | None] = mapped_column(Integer)
    penn_severity: Mapped[int | None] = mapped_column(Integer)
    adherence: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signature_meaning: Mapped[str | None] = mapped_column(String(200))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # An unsigned visit discarded with a reason: kept (and in the audit trail), never listed.
    discarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    discard_reason: Mapped[str | None] = mapped_column(String(DISCARD_REASON_MAX))

    patient: Mapped[Patient] = relationship()
    therapist: Mapped[User] = relationship(foreign_keys=[therapist_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])
    discarded_by: Mapped[User | None] = relationship(foreign_keys=[discarded_by_id])
    mas_scores: Mapped[list["MasScore"]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="MasScore.id"
    )
    tardieu_scores: Mapped[list["TardieuScore"]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="TardieuScore.id"
    )
    side_effects: Mapped[list["SideEffect"]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="SideEffect.id"
    )
    amendments: Mapped[list["Amendment"]] = relationship(
        back_populates="visit", order_by="Amendment.id"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads a dict


class MasScore(Base):
    """One muscle-side at one visit; grade NULL means selected but not assessed."""

    __tablename__ = "mas_score"
    __table_args__ = (
        UniqueConstraint("visit_id", "muscle", "side"),
        CheckConstraint(f"grade IS NULL OR grade IN {GRADES_SQL}", name="grade_known"),
        CheckConstraint("side IN ('left', 'right')", name="side_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    muscle: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(5))
    grade: Mapped[str | None] = mapped_column(String(2))
    rater: Mapped[str] = mapped_column(String(120))
    # Provenance: NULL = examined at this visit; a date = the grade of the signed visit of
    # that date, kept (carried forward) without being examined again.
    carried_from: Mapped[date | None] = mapped_column(Date)

    visit: Mapped[Visit] = relationship(back_populates="mas_scores")


class TardieuScore(Base):
    """Modified Tardieu (Boyd & Graham 1999) for one muscle-side, when recorded."""

    __tablename__ = "tardieu_score"
    __table_args__ = (
        UniqueConstraint("visit_id", "muscle", "side"),
        CheckConstraint("quality IS NULL OR quality BETWEEN 0 AND 5", name="quality_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    muscle: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(5))
    r1: Mapped[int | None] = mapped_column(Integer)
    r2: Mapped[int | None] = mapped_column(Integer)
    quality: Mapped[int | None] = mapped_column(Integer)
    velocity: Mapped[str | None] = mapped_column(String(2))

    visit: Mapped[Visit] = relationship(back_populates="tardieu_scores")


class SideEffect(Base):
    __tablename__ = "side_effect"
    __table_args__ = (
        UniqueConstraint("visit_id", "code"),
        CheckConstraint(
            "severity IN ('none', 'mild', 'moderate', 'severe')", name="severity_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    code: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    detail: Mapped[str] = mapped_column(String(200), default="")

    visit: Mapped[Visit] = relationship(back_populates="side_effects")


class Amendment(Base):
    """A correction of a signed visit; the visit itself never changes after signing."""

    __tablename__ = "amendment"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[str] = mapped_column(Text)  # JSON {field: [old, new]}
    content_hash: Mapped[str] = mapped_column(String(64))
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)

    visit: Mapped[Visit] = relationship(back_populates="amendments")
    author: Mapped[User] = relationship()


class Draft(Base):
    """The server-side autosave of a visit form: new (visit_id NULL) or editing a visit."""

    __tablename__ = "draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    base_version: Mapped[int | None] = mapped_column(Integer)
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_session: Mapped[str | None] = mapped_column(String(64))  # the page that saved last
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    discarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    discard_reason: Mapped[str | None] = mapped_column(String(DISCARD_REASON_MAX))

    patient: Mapped[Patient] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    discarded_by: Mapped[User | None] = relationship(foreign_keys=[discarded_by_id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads a dict


class SummaryDocument(Base):
    """One version of a signed visit's PDF summary, rendered once and served from here.

    Version 1 is the summary as signed; version n follows the visit's (n - 1)th amendment.
    Exactly one stored PDF per version.
    """

    __tablename__ = "summary_document"
    __table_args__ = (UniqueConstraint("visit_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_key: Mapped[str] = mapped_column(String(64))  # hash of what the PDF shows
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
