"""The worklist's stored entries: per patient, what the worklist sorts and filters by.

An entry is a step function of the date: each row holds the values valid from `valid_from`
up to (not including) `valid_until`, so the worklist reads one row per patient for any day
and computes that day's urgency from the stored facts (`spastic/patients/worklist_entries.py`).
"""

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from spastic.models.base import Base

FIRST_DAY = date(1, 1, 1)  # the first step of an entry holds from the start
LAST_DAY = date(9999, 12, 31)  # and the last to the end


class WorklistEntry(Base):
    __tablename__ = "worklist_entry"
    # The page's one query reads only this index (its filter, order and count): no table row
    # is visited for the thousands of entries it sorts, only for the 50 it shows.
    __table_args__ = (
        Index(
            "ix_worklist_entry_clinic_valid",
            "clinic_id",
            "valid_until",
            "valid_from",
            "flag_rank",
            "review_date",
            "refill_due",
            "has_pump",
            "sort_name",
            "patient_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    sort_name: Mapped[str] = mapped_column(String(210))  # "FAMILY, Given" as the list sorts
    review_date: Mapped[date | None] = mapped_column(Date)  # None: no visit yet (due now)
    refill_due: Mapped[date | None] = mapped_column(Date)
    has_pump: Mapped[bool] = mapped_column(Boolean)
    flag_rank: Mapped[int] = mapped_column(Integer)  # 0 urgent, 1 warning, 9 neither
    # The rest of what `schedule.due` reads and the page shows (the row's `DueFacts`)
    last_visit: Mapped[date | None] = mapped_column(Date)
    last_dose_change: Mapped[date | None] = mapped_column(Date)
    booked_review: Mapped[date | None] = mapped_column(Date)
    review_interval_days: Mapped[int] = mapped_column(Integer)
    review_after_change_days: Mapped[int] = mapped_column(Integer)
    flags: Mapped[str] = mapped_column(Text)  # JSON: [code, severity, message, source, on]
