"""An Open Badges credential: one per completion, with its place in a status list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from course.db_types import UTCDateTime, utcnow
from course.extensions import db

LIST_SIZE = 131_072  # bits in one status list: the Bitstring Status List minimum, for herd privacy


class BadgeCredential(db.Model):
    """The signed credential as issued (kept: a signature cannot be made again by a retired key), and its bit in
    a revocation status list. Deleting the account empties `document` and sets `revoked_at`: the bit stays."""

    __tablename__ = "badge_credential"
    __table_args__ = (UniqueConstraint("status_list", "status_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("completion.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    status_list: Mapped[int] = mapped_column(Integer)  # the list's number in its URL, from 1
    status_index: Mapped[int] = mapped_column(Integer)  # the bit in it, 0 … LIST_SIZE - 1, chosen at random
    credential_id: Mapped[str] = mapped_column(String(64), unique=True)  # urn:uuid:…
    verification_method: Mapped[str] = mapped_column(String(300))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    document: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
