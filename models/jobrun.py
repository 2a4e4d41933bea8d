"""JobRun: the claim of one scheduled period. Unique (job, period), so a period runs once across replicas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from models.timeutil import now
from models.types import UTCDateTime

STATUS_RUNNING = "running"
STATUS_DONE = "done"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"


class JobRun(SQLModel, table=True):
    """One claimed run of a job for one period (for example `digest`, `2026-W48`)."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "period", name="uq_job_run_job_period"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64, index=True)
    period: str = Field(max_length=64)
    scheduled_for: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=STATUS_RUNNING, max_length=16)
    claimed_by: str = Field(default="", max_length=128)
    claimed_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    detail: str = Field(default="", max_length=2000)


def claim_run(
    session: Session, *, job: str, period: str, scheduled_for: datetime, claimed_by: str
) -> JobRun | None:
    """Claim (job, period); None when another process or an earlier run already has it.

    The caller commits the session right away so the claim is visible to other replicas.
    """
    run = JobRun(job=job, period=period, scheduled_for=scheduled_for, claimed_by=claimed_by)
    nested = session.begin_nested()
    try:
        session.add(run)
        session.flush()
    except IntegrityError:
        nested.rollback()
        return None
    nested.commit()
    return run


def last_run(session: Session, *, job: str) -> JobRun | None:
    """The newest claimed run of a job (by its scheduled instant)."""
    return session.exec(select(JobRun).where(JobRun.job == job).order_by(JobRun.scheduled_for.desc())).first()  # type: ignore[attr-defined]
