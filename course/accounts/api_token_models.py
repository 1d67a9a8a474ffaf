"""The personal access token of the JSON API (`course/accounts/api_tokens.py` makes, checks and revokes them)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, update
from sqlalchemy.orm import Mapped, mapped_column

from course.db_types import UTCDateTime, utcnow
from course.extensions import db

DEFAULT_DAYS = 90


def default_expiry() -> datetime:
    return utcnow() + timedelta(days=DEFAULT_DAYS)


class ApiToken(db.Model):
    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint("expires_at > created_at", name="expires_after_created"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the whole token, hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=default_expiry)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


def revoke_all_tokens(user_id: int) -> int:
    """Revoke every token of the user still unrevoked (their sessions ended: a password change or reset, a
    disabled account, a new role, a two-step login reset); returns how many. Flushes nothing else."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
