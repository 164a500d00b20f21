"""Clinics, their users and the server-side record of each login session."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from spastic.models.base import Base, UTCDateTime, utcnow

ROLES = ("therapist", "physician", "admin")


class Clinic(Base):
    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    paper_size: Mapped[str] = mapped_column(String(10), default="A4")
    timezone: Mapped[str] = mapped_column(String(60), default="UTC")
    # Scheduling preferences of the clinic (not clinical thresholds): see the README.
    refill_margin_days: Mapped[int] = mapped_column(Integer, default=7)
    review_interval_days: Mapped[int] = mapped_column(Integer, default=90)
    review_after_dose_change_days: Mapped[int] = mapped_column(Integer, default=14)
    # JSON list of muscle codes a first visit of a new patient starts from; "[]" (a clinic whose
    # admin has not chosen): the twelve usual groups. See spastic/visits/muscles.py.
    usual_muscles: Mapped[str] = mapped_column(String(1000), default="[]", server_default="[]")
    # Signed summaries not acknowledged by a physician after this many days are listed.
    acknowledge_within_days: Mapped[int] = mapped_column(Integer, default=7)

    users: Mapped[list["User"]] = relationship(back_populates="clinic")


class User(UserMixin, Base):
    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clinic: Mapped[Clinic] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def display_role(self) -> str:
        return self.role.capitalize()


class LoginSession(Base):
    """One login on one device; ending it makes a copied cookie worthless."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship()
