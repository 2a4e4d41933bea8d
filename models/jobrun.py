"""JobRun: the claim of one scheduled period. Unique (job, period), so a period runs once across replicas."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import UniqueConstraint, and_, or_, update
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


# A `running` claim older than this belongs to a process that died mid-run; the period may be run again.
STALE_RUNNING = timedelta(minutes=30)
_T = JobRun.__table__  # type: ignore[attr-defined]


def reclaim_run(
    session: Session,
    *,
    job: str,
    period: str,
    scheduled_for: datetime,
    claimed_by: str,
    stale_before: datetime | None = None,
) -> JobRun | None:
    """Take over a period whose run failed, was skipped, or died while running; None when it is taken.

    Jobs are idempotent per period (the outbox dedupes their messages), so running such a period again
    sends only what the earlier attempt did not queue. A single conditional UPDATE: one winner.
    """
    current = now()
    stale = stale_before or current - STALE_RUNNING
    result = session.execute(
        update(_T)
        .where(
            and_(
                _T.c.job == job,
                _T.c.period == period,
                or_(
                    _T.c.status.in_([STATUS_FAILED, STATUS_SKIPPED]),
                    and_(_T.c.status == STATUS_RUNNING, _T.c.claimed_at < stale),
                ),
            )
        )
        .values(
            status=STATUS_RUNNING,
            claimed_by=claimed_by,
            claimed_at=current,
            scheduled_for=scheduled_for,
            finished_at=None,
            detail="",
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return session.exec(select(JobRun).where(JobRun.job == job, JobRun.period == period)).one()


def finish_run(session: Session, *, run_id: int, status: str, detail: str = "") -> None:
    """Record how a claimed run ended (`done`, `failed`)."""
    session.execute(
        update(_T).where(_T.c.id == run_id).values(status=status, finished_at=now(), detail=detail[:2000])
    )


def record_skipped(
    session: Session, *, job: str, period: str, scheduled_for: datetime, claimed_by: str, detail: str
) -> bool:
    """Note a missed period that is too old to catch up (so `jobs list` and operators can see it)."""
    run = claim_run(session, job=job, period=period, scheduled_for=scheduled_for, claimed_by=claimed_by)
    if run is None:
        return False
    run.status = STATUS_SKIPPED
    run.finished_at = now()
    run.detail = detail[:2000]
    session.add(run)
    session.flush()
    return True


def get_run(session: Session, *, job: str, period: str) -> JobRun | None:
    return session.exec(select(JobRun).where(JobRun.job == job, JobRun.period == period)).first()
