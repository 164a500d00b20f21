"""Patients, their care team and their baclofen regimen history."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from spastic.models.accounts import Clinic, User
from spastic.models.base import Base, UTCDateTime, utcnow

care_team = Table(
    "care_team",
    Base.metadata,
    Column("patient_id", ForeignKey("patient.id"), primary_key=True),
    Column("user_id", ForeignKey("user_account.id"), primary_key=True),
)


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (UniqueConstraint("clinic_id", "mrn"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    mrn: Mapped[str] = mapped_column(String(40))
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))
    diagnosis: Mapped[str] = mapped_column(String(20))
    sci_level: Mapped[str | None] = mapped_column(String(3))
    ais_grade: Mapped[str | None] = mapped_column(String(1))
    diagnosis_detail: Mapped[str] = mapped_column(String(200), default="")
    egfr: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    egfr_date: Mapped[date | None] = mapped_column(Date)
    on_dialysis: Mapped[bool] = mapped_column(Boolean, default=False)
    referring_name: Mapped[str] = mapped_column(String(120), default="")
    referring_email: Mapped[str] = mapped_column(String(254), default="")
    # JSON list of muscle codes the therapist usually assesses for this patient.
    usual_muscles: Mapped[str] = mapped_column(Text, default="[]")
    # The label's higher withdrawal risk beyond an injury at T6 or above (read from sci_level).
    communication_difficulty: Mapped[bool] = mapped_column(Boolean, default=False)
    prior_withdrawal: Mapped[bool] = mapped_column(Boolean, default=False)
    # Days between reviews; None: the clinic's default interval.
    review_interval_days: Mapped[int | None] = mapped_column(Integer)
    next_review_date: Mapped[date | None] = mapped_column(Date)
    next_refill_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    clinic: Mapped[Clinic] = relationship()
    care_team: Mapped[list[User]] = relationship(secondary=care_team, order_by=User.name)
    dose_changes: Mapped[list["DoseChange"]] = relationship(
        back_populates="patient", order_by="(DoseChange.effective_date, DoseChange.id)"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads a dict

    @property
    def display_name(self) -> str:
        return f"{self.family_name.upper()}, {self.given_name}"


class PatientSearchToken(Base):
    """One word of a patient's family name, given name or MRN, case- and accent-folded
    (`spastic/patients/search.py`), kept current by `spastic/patients/search_index.py`: the
    live search finds a patient by the start of any word from an index range, so its cost
    grows with the matches, not with the clinic."""

    __tablename__ = "patient_search_token"
    __table_args__ = (Index("ix_patient_search_token_clinic", "clinic_id", "token", "patient_id"),)

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True
    )
    # Byte order on PostgreSQL too, so a prefix is one index range whatever the server's
    # locale (SQLite compares bytes already).
    token: Mapped[str] = mapped_column(
        String(100).with_variant(String(100, collation="C"), "postgresql"), primary_key=True
    )
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))


class DoseChange(Base):
    """One dated change of the baclofen regimen: the total daily dose from that date on."""

    __tablename__ = "dose_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    effective_date: Mapped[date] = mapped_column(Date)
    # Nullable so legacy imports with a missing route can be stored and flagged.
    route: Mapped[str | None] = mapped_column(String(12))
    daily_dose: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    unit: Mapped[str | None] = mapped_column(String(10))
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    schedule: Mapped[str] = mapped_column(String(120), default="")
    formulation: Mapped[str] = mapped_column(String(120), default="")
    reason: Mapped[str] = mapped_column(String(300), default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    patient: Mapped[Patient] = relationship(back_populates="dose_changes")
    entered_by: Mapped[User | None] = relationship()
