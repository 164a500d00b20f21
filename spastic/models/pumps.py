"""Intrathecal pumps and their refills; the clinic's scheduling settings live on Clinic."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from spastic.models.accounts import User
from spastic.models.base import Base, UTCDateTime, utcnow
from spastic.models.patients import Patient


class Pump(Base):
    """An implanted intrathecal pump; a replaced pump keeps its row with `removed_on` set."""

    __tablename__ = "pump"
    __table_args__ = (
        CheckConstraint("reservoir_ml > 0", name="reservoir_positive"),
        CheckConstraint("alarm_ml >= 0 AND alarm_ml < reservoir_ml", name="alarm_below_reservoir"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    model: Mapped[str] = mapped_column(String(120))
    reservoir_ml: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    alarm_ml: Mapped[Decimal] = mapped_column(Numeric(4, 1), default=Decimal(2))
    implant_date: Mapped[date] = mapped_column(Date)
    elective_replacement_date: Mapped[date | None] = mapped_column(Date)
    # The manufacturer's stated accuracy, percent of the volume delivered, if the clinic has it.
    accuracy_percent: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    removed_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    patient: Mapped[Patient] = relationship()
    refills: Mapped[list["Refill"]] = relationship(
        back_populates="pump", order_by="(Refill.refill_date, Refill.id)"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads a dict


class Refill(Base):
    """One refill (the first is the fill at implant): what came out and what went in.

    The reservoir is emptied at a refill, so the volume added is the volume in it afterwards.
    `expected_residual_ml` is what the app computed when the refill was entered, kept as
    recorded (None for the first fill, when nothing came before it).
    """

    __tablename__ = "refill"
    __table_args__ = (
        CheckConstraint("volume_added_ml > 0", name="volume_positive"),
        CheckConstraint("concentration_mcg_ml > 0", name="concentration_positive"),
        CheckConstraint("residual_drawn_ml IS NULL OR residual_drawn_ml >= 0", name="residual"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pump.id"), index=True)
    refill_date: Mapped[date] = mapped_column(Date)
    residual_drawn_ml: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    expected_residual_ml: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    volume_added_ml: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    concentration_mcg_ml: Mapped[Decimal] = mapped_column(Numeric(7, 1))
    first_fill: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    performed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    pump: Mapped[Pump] = relationship(back_populates="refills")
    performed_by: Mapped[User | None] = relationship()
