"""Links that give a physician one visit summary, and physicians' acknowledgements of summaries."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from spastic.models.accounts import User
from spastic.models.base import Base, UTCDateTime, utcnow
from spastic.models.visits import Visit


class ShareLink(Base):
    """One emailed link to one signed visit's summary; only the token's SHA-256 is kept."""

    __tablename__ = "share_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(120))
    # Set when the recipient has an account: the link then also needs their login.
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    open_count: Mapped[int] = mapped_column(Integer, default=0)
    # The "Send to physician" form's key: the same form sent again (a double tap, a resend,
    # requests at once) finds this link instead of emailing another.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    visit: Mapped[Visit] = relationship()
    recipient_user: Mapped[User | None] = relationship(foreign_keys=[recipient_user_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])


class Acknowledgement(Base):
    """A physician has reviewed one version of a signed visit's summary (once per version).

    Reading is not stored here: an opening is its audit row (`read_summary`), so a GET writes
    nothing but the audit trail.
    """

    __tablename__ = "acknowledgement"
    __table_args__ = (UniqueConstraint("visit_id", "version", "physician_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    # The summary version: 1 as signed, n after n - 1 amendments.
    version: Mapped[int] = mapped_column(Integer)
    physician_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[Visit] = relationship()
    physician: Mapped[User] = relationship()
