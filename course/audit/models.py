"""Audit entries. Append-only: the app adds entries and never changes or deletes one (an ORM change to an
entry raises); `flask audit prune` removes entries past the retention period, as an operator's act."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from course.db_types import UTCDateTime, utcnow
from course.extensions import db


class AuditEntry(db.Model):
    """Who (`actor_id`: None for the system or the command line), when, from where (`ip`), what (`action`, on
    `target_user_id`, in `cohort_id`, `subject` naming anything else), and the values before and after."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(40), index=True)
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(Integer, index=True)  # kept after the cohort: no foreign key
    subject: Mapped[str | None] = mapped_column(String(200))  # e.g. "course ai-founder-global"
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditEntriesAreAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_changes(_mapper: object, _connection: object, entry: AuditEntry) -> None:
    raise AuditEntriesAreAppendOnly(f"audit entry {entry.id} cannot be changed or deleted")
