"""Pulse surveys (意見収集): HR asks a segment of members 1-5 short questions; answers are anonymous.

Life of a survey (`status`): `draft` (created by HR) -> `open` (`open_survey` fixes the audience as
`SurveyRecipient` rows; the invitation job DMs each once) -> `closed` (at `closes_at` by the closing job, or
early by HR). One reminder goes to recipients who have not answered, `REMINDER_BEFORE` before closing.

Anonymity is a property of the schema, not of the screens:
- `SurveyAnswer` has no member column and no timestamp. The rows of one submission share a random
  `response_id` (so HR can read a response as a whole), and nothing else.
- `SurveyRecipient` records only *that* someone answered (`answered`), flipped in the same transaction as the
  answer rows are written, with no `answered_at`: no instant on either side could be matched to the other.
  Answering writes no audit entry and queues no message, for the same reason.
- Results exist only once the survey is closed (a survey still open could be read before and after one known
  person answers, and the difference would be their answer), and only when at least `min_group` people answered
  (default 5, never below `MIN_GROUP_FLOOR`); below that, `survey_results` returns no figure at all. Free text
  is listed shuffled and never with a name.
What the schema cannot hide: the database's own bookkeeping (PostgreSQL's `xmin`/`ctid`, the WAL, SQLite's
rowid order) still reflects the order of writes to someone with direct database access while a survey is open.

The "you said, we did" loop: HR records what changed because of a closed survey (`record_survey_change`);
the weekly digest publishes each such note once (`unpublished_survey_changes` / `mark_survey_changes_published`),
like `models.feedback` does for feedback.
"""

from __future__ import annotations

import csv
import io
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text, UniqueConstraint, func, update
from sqlmodel import Field, Session, SQLModel, col, select

from models.actors import Actor
from models.audit import record
from models.errors import DomainError, FieldErrors, PermissionDenied
from models.event import Event, attendees
from models.export import BOM, _cell
from models.member import Member, get_member
from models.textnorm import normalize
from models.timeutil import now
from models.types import UTCDateTime, get_or_not_found

DRAFT = "draft"
OPEN = "open"
CLOSED = "closed"

SCALE = "scale"
CHOICE = "choice"
TEXT = "text"
KINDS = (SCALE, CHOICE, TEXT)
SCALE_MIN, SCALE_MAX = 1, 5

SEGMENT_ALL = "all"
SEGMENT_DEPARTMENT = "department"
SEGMENT_LEFT_YEAR = "left_year"
SEGMENT_REHIRE = "open_to_rehire"
SEGMENT_EVENT = "attended_event"
SEGMENTS = (SEGMENT_ALL, SEGMENT_DEPARTMENT, SEGMENT_LEFT_YEAR, SEGMENT_REHIRE, SEGMENT_EVENT)
SEGMENTS_WITH_VALUE = (SEGMENT_DEPARTMENT, SEGMENT_LEFT_YEAR, SEGMENT_EVENT)

TITLE_MAX = 100
INTRO_MAX = 1000
PROMPT_MAX = 300
CHOICE_MAX = 75  # a radio button's text holds 75 characters
CHOICES_MIN, CHOICES_MAX = 2, 10  # radio buttons take at most 10 options
QUESTIONS_MIN, QUESTIONS_MAX = 1, 5
TEXT_ANSWER_MAX = 2000
SEGMENT_VALUE_MAX = 200
CHANGE_MAX = 500
DEFAULT_MIN_GROUP = 5
MIN_GROUP_FLOOR = 3  # below this a group is small enough to guess who said what
MIN_GROUP_MAX = 1000
MAX_OPEN_FOR = timedelta(days=90)
REMINDER_BEFORE = timedelta(hours=24)

# Result states.
READY = "ready"
TOO_FEW = "too_few"
NOT_CLOSED = "not_closed"


class Survey(SQLModel, table=True):
    """One pulse survey. The audience is a segment (`segment_kind` + `segment_value`), fixed when opened."""

    __tablename__ = "survey"
    __table_args__ = (Index("ix_survey_status_closes_at", "status", "closes_at"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    intro: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    closes_at: datetime = Field(sa_type=UTCDateTime)
    segment_kind: str = Field(default=SEGMENT_ALL, max_length=32)
    segment_value: str = Field(default="", max_length=SEGMENT_VALUE_MAX)
    min_group: int = DEFAULT_MIN_GROUP
    status: str = Field(default=DRAFT, max_length=16)
    created_by: str = Field(max_length=32)  # HR's Slack user ID
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # "You said, we did": what changed because of this survey; published once in a digest.
    change_note: str = Field(default="", max_length=CHANGE_MAX)
    change_noted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    change_published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def segment(self) -> Segment:
        return Segment(self.segment_kind, self.segment_value)


class SurveyQuestion(SQLModel, table=True):
    """One question: `scale` (1-5), `choice` (one of `choices`) or `text` (free text, optional)."""

    __tablename__ = "survey_question"
    __table_args__ = (UniqueConstraint("survey_id", "position", name="uq_survey_question_position"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(
        sa_column=Column(Integer, ForeignKey("survey.id", ondelete="CASCADE"), nullable=False)
    )
    position: int
    kind: str = Field(max_length=16)
    prompt: str = Field(max_length=PROMPT_MAX)
    choices: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))

    @property
    def required(self) -> bool:
        return self.kind != TEXT


class SurveyRecipient(SQLModel, table=True):
    """A member asked to answer. `answered` stops a second answer; it is deliberately not timestamped."""

    __tablename__ = "survey_recipient"
    __table_args__ = (
        UniqueConstraint("survey_id", "member_id", name="uq_survey_recipient_survey_member"),
        Index("ix_survey_recipient_survey_answered", "survey_id", "answered"),
    )

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(
        sa_column=Column(Integer, ForeignKey("survey.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    asked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the invitation was queued
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered: bool = False


class SurveyAnswer(SQLModel, table=True):
    """One answer to one question. No member, no time: only the random id shared by one submission.

    The key is random too: an increasing id would give away the order in which people answered."""

    __tablename__ = "survey_answer"
    __table_args__ = (
        UniqueConstraint("response_id", "question_id", name="uq_survey_answer_response_question"),
    )

    id: str = Field(default_factory=lambda: secrets.token_hex(16), primary_key=True, max_length=32)
    response_id: str = Field(max_length=32)
    question_id: int = Field(
        sa_column=Column(Integer, ForeignKey("survey_question.id", ondelete="CASCADE"), nullable=False)
    )
    survey_id: int = Field(
        sa_column=Column(Integer, ForeignKey("survey.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    value: int | None = None  # the scale point, or the index of the choice
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


# ----------------------------------------------------------------------------------------- value objects


@dataclass(frozen=True)
class Segment:
    """Who is asked: `all`, `department` (name), `left_year` (year), `open_to_rehire`, `attended_event` (id)."""

    kind: str = SEGMENT_ALL
    value: str = ""


@dataclass(frozen=True)
class QuestionDraft:
    """A question as HR typed it. `slot` is the question's place in the form (1-5), for field errors."""

    kind: str
    prompt: str
    choices: Sequence[str] = ()
    slot: int | None = None


@dataclass(frozen=True)
class SurveyDraft:
    """What HR submits. `min_group` may arrive as typed (a string) and is validated here."""

    title: str
    closes_at: datetime | None
    questions: Sequence[QuestionDraft]
    intro: str = ""
    segment: Segment = field(default_factory=Segment)
    min_group: int | str | None = DEFAULT_MIN_GROUP


@dataclass(frozen=True)
class OptionCount:
    label: str  # the choice as HR wrote it, or the scale point ("1".."5")
    count: int


@dataclass(frozen=True)
class QuestionResult:
    question_id: int
    position: int
    kind: str
    prompt: str
    answered: int
    options: list[OptionCount] = field(default_factory=list)  # scale and choice
    average: float | None = None  # scale
    texts: list[str] = field(default_factory=list)  # text, shuffled


@dataclass(frozen=True)
class SurveyResults:
    """`state` READY: figures below. TOO_FEW or NOT_CLOSED: `responses` is None and `questions` empty."""

    survey: Survey
    state: str
    min_group: int
    responses: int | None = None
    questions: list[QuestionResult] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.state == READY


@dataclass(frozen=True)
class Progress:
    """Participation for HR's overview: how many were asked and how many answered (never who)."""

    survey: Survey
    asked: int
    answered: int


@dataclass(frozen=True)
class Invitation:
    """A recipient to DM: the survey, and the member's Slack ID and locale."""

    survey: Survey
    recipient_id: int
    slack_user_id: str
    locale: str | None


# ----------------------------------------------------------------------------------------- validation


def _require_hr(actor: Actor) -> None:
    if not actor.is_hr:
        raise PermissionDenied("not_allowed")


def question_field(slot: int, name: str) -> str:
    """The field key (and the create modal's block_id) of a question's part: `q2_prompt`."""
    return f"q{slot}_{name}"


def answer_field(question_id: int) -> str:
    """The field key (and the answer modal's block_id) of the answer to one question: `answer_17`."""
    return f"answer_{question_id}"


def _min_group(errs: FieldErrors, raw: int | str | None) -> int:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return DEFAULT_MIN_GROUP
    try:
        value = int(normalize(raw) if isinstance(raw, str) else raw)
    except ValueError:
        errs.add("min_group", "invalid")
        return DEFAULT_MIN_GROUP
    if value < MIN_GROUP_FLOOR:
        errs.add("min_group", "surveys.errors.min_group_floor", min=MIN_GROUP_FLOOR)
    elif value > MIN_GROUP_MAX:
        errs.add("min_group", "surveys.errors.min_group_max", max=MIN_GROUP_MAX)
    return value


def _segment(session: Session, errs: FieldErrors, segment: Segment) -> Segment:
    kind, value = segment.kind, (segment.value or "").strip()
    if kind not in SEGMENTS:
        errs.add("audience", "invalid")
        return segment
    if kind not in SEGMENTS_WITH_VALUE:
        return Segment(kind, "")
    if not value:
        errs.add("audience", "required")
    elif len(value) > SEGMENT_VALUE_MAX:
        errs.add("audience", "too_long", max=SEGMENT_VALUE_MAX)
    elif kind == SEGMENT_LEFT_YEAR:
        year = normalize(value)
        if not (year.isdigit() and len(year) == 4):
            errs.add("audience", "invalid")
        value = year
    elif kind == SEGMENT_EVENT:
        event_id = int(value) if value.isdigit() and len(value) < 10 else 0
        if not event_id or session.get(Event, event_id) is None:
            errs.add("audience", "surveys.errors.event_unknown")
        value = str(event_id)
    return Segment(kind, value)


def _questions(errs: FieldErrors, drafts: Sequence[QuestionDraft]) -> list[tuple[str, str, list[str]]]:
    clean: list[tuple[str, str, list[str]]] = []
    if not QUESTIONS_MIN <= len(drafts) <= QUESTIONS_MAX:
        errs.add("questions", "surveys.errors.question_count", min=QUESTIONS_MIN, max=QUESTIONS_MAX)
    for index, draft in enumerate(drafts[:QUESTIONS_MAX]):
        slot = draft.slot or index + 1
        prompt = (draft.prompt or "").strip()
        if not draft.kind:
            errs.add(question_field(slot, "kind"), "required")
        elif draft.kind not in KINDS:
            errs.add(question_field(slot, "kind"), "invalid")
        if not prompt:
            errs.add(question_field(slot, "prompt"), "required")
        elif len(prompt) > PROMPT_MAX:
            errs.add(question_field(slot, "prompt"), "too_long", max=PROMPT_MAX)
        choices: list[str] = []
        if draft.kind == CHOICE:
            for raw in draft.choices:
                choice = (raw or "").strip()
                if choice and choice not in choices:
                    choices.append(choice)
            where = question_field(slot, "choices")
            if not CHOICES_MIN <= len(choices) <= CHOICES_MAX:
                errs.add(where, "surveys.errors.choice_count", min=CHOICES_MIN, max=CHOICES_MAX)
            elif any(len(c) > CHOICE_MAX for c in choices):
                errs.add(where, "surveys.errors.choice_too_long", max=CHOICE_MAX)
        clean.append((draft.kind, prompt, choices))
    return clean


# ----------------------------------------------------------------------------------------- HR's side


def create_survey(session: Session, *, actor: Actor, draft: SurveyDraft) -> Survey:
    """HR creates a survey as a draft; every bad field is reported at once (`ValidationFailed`)."""
    _require_hr(actor)
    errs = FieldErrors()
    title = (draft.title or "").strip()
    intro = (draft.intro or "").strip()
    if not title:
        errs.add("title", "required")
    elif len(title) > TITLE_MAX:
        errs.add("title", "too_long", max=TITLE_MAX)
    if len(intro) > INTRO_MAX:
        errs.add("intro", "too_long", max=INTRO_MAX)
    closes_at = draft.closes_at
    instant = now()
    if closes_at is None or closes_at.tzinfo is None:
        errs.add("closes_at", "required" if closes_at is None else "invalid_date")
    elif closes_at <= instant:
        errs.add("closes_at", "surveys.errors.closes_past")
    elif closes_at - instant > MAX_OPEN_FOR:
        errs.add("closes_at", "surveys.errors.closes_too_late", days=MAX_OPEN_FOR.days)
    segment = _segment(session, errs, draft.segment)
    min_group = _min_group(errs, draft.min_group)
    questions = _questions(errs, draft.questions)
    errs.raise_if_any()
    assert closes_at is not None
    survey = Survey(
        title=title,
        intro=intro,
        closes_at=closes_at,
        segment_kind=segment.kind,
        segment_value=segment.value,
        min_group=min_group,
        created_by=actor.user_id,
    )
    session.add(survey)
    session.flush()
    assert survey.id is not None
    for position, (kind, prompt, choices) in enumerate(questions, start=1):
        session.add(
            SurveyQuestion(survey_id=survey.id, position=position, kind=kind, prompt=prompt, choices=choices)
        )
    record(session, actor=actor.user_id, action="survey.create", target=f"survey:{survey.id}")
    session.flush()
    return survey


def get_survey(session: Session, *, survey_id: int) -> Survey:
    return get_or_not_found(session, Survey, survey_id)


def questions_of(session: Session, *, survey_id: int) -> list[SurveyQuestion]:
    """The survey's questions in order."""
    return list(
        session.exec(
            select(SurveyQuestion)
            .where(SurveyQuestion.survey_id == survey_id)
            .order_by(col(SurveyQuestion.position))
        ).all()
    )


def audience(session: Session, *, segment: Segment) -> list[Member]:
    """The members a segment stands for now: consented members still in Slack, in a stable order."""
    base = select(Member).where(
        col(Member.slack_user_id).is_not(None),
        col(Member.erased_at).is_(None),
        col(Member.consented_at).is_not(None),
    )
    kind, value = segment.kind, segment.value.strip()
    if kind == SEGMENT_ALL:
        stmt = base
    elif kind == SEGMENT_REHIRE:
        stmt = base.where(col(Member.open_to_rehire).is_(True))
    elif kind == SEGMENT_LEFT_YEAR:
        if not value.isdigit():
            return []
        stmt = base.where(Member.left_year == int(value))
    elif kind == SEGMENT_DEPARTMENT:
        # Departments are typed by people: "Sales" and "ｓａｌｅｓ " are the same department.
        wanted = normalize(value)
        members = session.exec(base.where(Member.former_department != "").order_by(col(Member.id))).all()
        return [m for m in members if normalize(m.former_department) == wanted]
    elif kind == SEGMENT_EVENT:
        if not value.isdigit() or session.get(Event, int(value)) is None:
            return []
        return sorted(
            (m for m in attendees(session, event_id=int(value)) if m.consented_at and not m.erased_at),
            key=lambda m: m.id or 0,
        )
    else:
        return []
    return list(session.exec(stmt.order_by(col(Member.id))).all())


@dataclass(frozen=True)
class AudienceChoices:
    """What the create modal offers: departments and leaving years members have, and recent events."""

    departments: list[str]
    left_years: list[int]
    events: list[tuple[int, str]]


def audience_choices(session: Session, *, limit: int = 40) -> AudienceChoices:
    """Departments (as first written), leaving years (newest first) and recent events, for the audience menu."""
    members = session.exec(
        select(Member.former_department, Member.left_year).where(
            col(Member.consented_at).is_not(None), col(Member.erased_at).is_(None)
        )
    ).all()
    departments: dict[str, str] = {}
    years: set[int] = set()
    for department, year in members:
        if department and normalize(department) not in departments:
            departments[normalize(department)] = department.strip()
        if year:
            years.add(year)
    events = session.exec(
        select(Event.id, Event.title)
        .where(Event.starts_at <= now())
        .order_by(col(Event.starts_at).desc())
        .limit(limit)
    ).all()
    return AudienceChoices(
        departments=sorted(departments.values())[:limit],
        left_years=sorted(years, reverse=True)[:limit],
        events=[(int(i), str(t)) for i, t in events if i is not None],
    )


def open_survey(session: Session, *, actor: Actor, survey_id: int) -> int:
    """HR opens a draft: its audience becomes its recipients (the invitation job DMs them). Returns how many."""
    _require_hr(actor)
    survey = get_survey(session, survey_id=survey_id)
    if survey.status != DRAFT:
        raise DomainError("surveys.errors.not_draft")
    if survey.closes_at <= now():
        raise DomainError("surveys.errors.closes_past", field="closes_at")
    members = audience(session, segment=survey.segment)
    if len(members) < survey.min_group:
        # Fewer people than the threshold could never produce a result: say so now, not at closing.
        raise DomainError(
            "surveys.errors.audience_too_small", field="audience", count=len(members), min=survey.min_group
        )
    assert survey.id is not None
    for member in members:
        assert member.id is not None
        session.add(SurveyRecipient(survey_id=survey.id, member_id=member.id))
    survey.status = OPEN
    survey.opened_at = now()
    record(
        session,
        actor=actor.user_id,
        action="survey.open",
        target=f"survey:{survey.id}",
        recipients=len(members),
    )
    session.flush()
    return len(members)


def close_survey(session: Session, *, actor: Actor, survey_id: int) -> Survey:
    """HR closes an open survey early (results become available if enough answered)."""
    _require_hr(actor)
    survey = get_survey(session, survey_id=survey_id)
    if survey.status != OPEN:
        raise DomainError("surveys.errors.not_open")
    _close(session, survey)
    record(session, actor=actor.user_id, action="survey.close", target=f"survey:{survey.id}")
    session.flush()
    return survey


def _close(session: Session, survey: Survey) -> None:
    survey.status = CLOSED
    survey.closed_at = now()


def close_due_surveys(session: Session, *, at: datetime) -> list[Survey]:
    """Close every open survey whose closing time has come; returns them (for HR's "results are in")."""
    due = list(
        session.exec(
            select(Survey)
            .where(Survey.status == OPEN, col(Survey.closes_at) <= at)
            .order_by(col(Survey.closes_at), col(Survey.id))
        ).all()
    )
    for survey in due:
        _close(session, survey)
        record(session, actor="system", action="survey.close", target=f"survey:{survey.id}")
    session.flush()
    return due


def participation(session: Session, *, survey_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """{survey id: (asked, answered)}: counts only, never who."""
    if not survey_ids:
        return {}
    rows = session.exec(
        select(
            SurveyRecipient.survey_id,
            func.count(),
            func.sum(func.cast(col(SurveyRecipient.answered), Integer)),
        )
        .where(col(SurveyRecipient.survey_id).in_(list(survey_ids)))
        .group_by(col(SurveyRecipient.survey_id))
    ).all()
    return {int(s): (int(n), int(a or 0)) for s, n, a in rows}


def list_surveys(session: Session, *, actor: Actor, limit: int = 20) -> list[Progress]:
    """HR's overview: the latest surveys with how many were asked and answered (counts only)."""
    _require_hr(actor)
    surveys = session.exec(
        select(Survey).order_by(col(Survey.created_at).desc(), col(Survey.id).desc()).limit(limit)
    ).all()
    counts = participation(session, survey_ids=[s.id for s in surveys if s.id is not None])
    return [Progress(s, *counts.get(s.id or 0, (0, 0))) for s in surveys]


def record_survey_change(session: Session, *, actor: Actor, survey_id: int, note: str) -> Survey:
    """HR writes what changed because of a closed survey ("you said, we did"); the next digest publishes it."""
    _require_hr(actor)
    survey = get_survey(session, survey_id=survey_id)
    text = (note or "").strip()
    errs = FieldErrors()
    if survey.status != CLOSED:
        errs.add("change_note", "surveys.errors.not_closed")
    elif not text:
        errs.add("change_note", "required")
    elif len(text) > CHANGE_MAX:
        errs.add("change_note", "too_long", max=CHANGE_MAX)
    elif survey.change_published_at is not None:
        errs.add("change_note", "surveys.errors.change_published")
    errs.raise_if_any()
    survey.change_note = text
    survey.change_noted_at = now()
    record(session, actor=actor.user_id, action="survey.change_note", target=f"survey:{survey.id}")
    session.flush()
    return survey


def unpublished_survey_changes(session: Session, *, limit: int = 50) -> list[Survey]:
    """Surveys with a "what we did" note not yet in a digest, oldest note first."""
    return list(
        session.exec(
            select(Survey)
            .where(Survey.change_note != "", col(Survey.change_published_at).is_(None))
            .order_by(col(Survey.change_noted_at), col(Survey.id))
            .limit(limit)
        ).all()
    )


def mark_survey_changes_published(session: Session, surveys: Sequence[Survey], *, at: datetime) -> None:
    """These notes went into the digest queued in this transaction: never again."""
    for survey in surveys:
        survey.change_published_at = at
    session.flush()


# ----------------------------------------------------------------------------------------- members' side


def open_surveys_for(session: Session, *, user_id: str) -> list[Survey]:
    """Open surveys the user was asked and has not answered yet (their Home shows these), closing first."""
    member = get_member(session, slack_user_id=user_id)
    if member is None:
        return []
    return list(
        session.exec(
            select(Survey)
            .join(SurveyRecipient, col(SurveyRecipient.survey_id) == col(Survey.id))
            .where(
                SurveyRecipient.member_id == member.id,
                col(SurveyRecipient.answered).is_(False),
                Survey.status == OPEN,
                col(Survey.closes_at) > now(),
            )
            .order_by(col(Survey.closes_at), col(Survey.id))
        ).all()
    )


def survey_for_answering(
    session: Session, *, actor: Actor, survey_id: int
) -> tuple[Survey, list[SurveyQuestion]]:
    """The survey and questions for the answer modal; refuses exactly as `submit_answers` would."""
    survey = get_survey(session, survey_id=survey_id)
    _recipient_may_answer(session, actor=actor, survey=survey)
    assert survey.id is not None
    return survey, questions_of(session, survey_id=survey.id)


def _recipient_may_answer(session: Session, *, actor: Actor, survey: Survey) -> SurveyRecipient:
    member = get_member(session, slack_user_id=actor.user_id)
    recipient = None
    if member is not None:
        recipient = session.exec(
            select(SurveyRecipient).where(
                SurveyRecipient.survey_id == survey.id, SurveyRecipient.member_id == member.id
            )
        ).first()
    if recipient is None:
        raise PermissionDenied("surveys.errors.not_recipient")
    if survey.status != OPEN or survey.closes_at <= now():
        raise DomainError("surveys.errors.closed")
    if recipient.answered:
        raise DomainError("surveys.errors.already_answered")
    return recipient


def _clean_answers(
    questions: Sequence[SurveyQuestion], answers: Mapping[int, Any]
) -> list[tuple[SurveyQuestion, int | None, str | None]]:
    errs = FieldErrors()
    clean: list[tuple[SurveyQuestion, int | None, str | None]] = []
    for question in questions:
        assert question.id is not None
        where = answer_field(question.id)
        raw = answers.get(question.id)
        text = raw.strip() if isinstance(raw, str) else raw
        if text is None or text == "":
            if question.required:
                errs.add(where, "required")
            continue
        if question.kind == TEXT:
            body = str(text)
            if len(body) > TEXT_ANSWER_MAX:
                errs.add(where, "too_long", max=TEXT_ANSWER_MAX)
            clean.append((question, None, body))
            continue
        try:
            value = int(text)
        except (TypeError, ValueError):
            errs.add(where, "invalid")
            continue
        low, high = (SCALE_MIN, SCALE_MAX) if question.kind == SCALE else (0, len(question.choices) - 1)
        if low <= value <= high:
            clean.append((question, value, None))
        else:
            errs.add(where, "invalid")
    if not clean and questions and not errs:
        first = questions[0]
        assert first.id is not None
        errs.add(answer_field(first.id), "surveys.errors.empty_response")
    errs.raise_if_any()
    return clean


def submit_answers(session: Session, *, actor: Actor, survey_id: int, answers: Mapping[int, Any]) -> None:
    """A recipient answers, once, while the survey is open. `answers` maps question id to the value as the
    modal gives it (scale point or choice index as str/int, text as str); keys of other questions are ignored.

    The answer rows carry a fresh random `response_id` and nothing that names the member; the recipient row
    only flips `answered`, in the same transaction. Nothing else is written (no audit entry, no message)."""
    survey = get_survey(session, survey_id=survey_id)
    recipient = _recipient_may_answer(session, actor=actor, survey=survey)
    assert survey.id is not None
    clean = _clean_answers(questions_of(session, survey_id=survey.id), answers)
    # The conditional UPDATE is the once-only guard: of two simultaneous submissions only one flips the flag.
    flipped = session.execute(
        update(SurveyRecipient)
        .where(col(SurveyRecipient.id) == recipient.id, col(SurveyRecipient.answered).is_(False))
        .values(answered=True)
        .execution_options(synchronize_session=False)
    )
    if flipped.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError("surveys.errors.already_answered")
    response_id = secrets.token_hex(16)
    for question, value, text in clean:
        assert question.id is not None
        session.add(
            SurveyAnswer(
                response_id=response_id, question_id=question.id, survey_id=survey.id, value=value, text=text
            )
        )
    session.flush()
    session.expire(recipient)


# ----------------------------------------------------------------------------------------- jobs' side


def _invitations(session: Session, *conditions: Any, limit: int) -> list[tuple[Invitation, SurveyRecipient]]:
    rows = session.exec(
        select(Survey, SurveyRecipient, Member)
        .join(SurveyRecipient, col(SurveyRecipient.survey_id) == col(Survey.id))
        .join(Member, col(Member.id) == col(SurveyRecipient.member_id))
        .where(Survey.status == OPEN, col(Member.slack_user_id).is_not(None), *conditions)
        .order_by(col(Survey.id), col(SurveyRecipient.id))
        .limit(limit)
    ).all()
    return [
        (Invitation(survey, int(recipient.id or 0), str(member.slack_user_id), member.locale), recipient)
        for survey, recipient, member in rows
    ]


def pending_invitations(session: Session, *, at: datetime, limit: int = 500) -> list[Invitation]:
    """Recipients of open surveys not invited yet (their DM is not queued), oldest survey first."""
    found = _invitations(
        session, col(Survey.closes_at) > at, col(SurveyRecipient.asked_at).is_(None), limit=limit
    )
    return [invitation for invitation, _ in found]


def due_reminders(session: Session, *, at: datetime, limit: int = 500) -> list[Invitation]:
    """Recipients to remind now: invited, not answered, not reminded, their survey closing within
    `REMINDER_BEFORE` (and not closed yet). Someone invited inside that window is not reminded: the
    invitation itself is recent enough."""
    found = _invitations(
        session,
        col(Survey.closes_at) > at,
        col(Survey.closes_at) <= at + REMINDER_BEFORE,
        col(SurveyRecipient.asked_at).is_not(None),
        col(SurveyRecipient.reminded_at).is_(None),
        col(SurveyRecipient.answered).is_(False),
        limit=limit,
    )
    return [
        invitation
        for invitation, recipient in found
        if recipient.asked_at is not None
        and recipient.asked_at <= invitation.survey.closes_at - REMINDER_BEFORE
    ]


def mark_invited(session: Session, recipient_ids: Sequence[int], *, at: datetime) -> None:
    """Their invitations were queued in this transaction."""
    _mark(session, recipient_ids, asked_at=at)


def mark_reminded(session: Session, recipient_ids: Sequence[int], *, at: datetime) -> None:
    """Their reminders were queued in this transaction."""
    _mark(session, recipient_ids, reminded_at=at)


def _mark(session: Session, recipient_ids: Sequence[int], **values: datetime) -> None:
    if recipient_ids:
        session.execute(
            update(SurveyRecipient)
            .where(col(SurveyRecipient.id).in_(list(recipient_ids)))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        session.flush()


# ----------------------------------------------------------------------------------------- results


def _response_count(session: Session, survey_id: int) -> int:
    return int(
        session.exec(
            select(func.count(func.distinct(SurveyAnswer.response_id))).where(
                SurveyAnswer.survey_id == survey_id
            )
        ).one()
    )


def survey_results(session: Session, *, actor: Actor, survey_id: int) -> SurveyResults:
    """HR reads the results of a closed survey: per question, counts (and the average of a scale) or the free
    text, shuffled. While open, or when fewer than `min_group` answered, there is no figure at all."""
    _require_hr(actor)
    survey = get_survey(session, survey_id=survey_id)
    assert survey.id is not None
    if survey.status != CLOSED:
        return SurveyResults(survey, NOT_CLOSED, survey.min_group)
    responses = _response_count(session, survey.id)
    if responses < max(survey.min_group, MIN_GROUP_FLOOR):
        return SurveyResults(survey, TOO_FEW, survey.min_group)
    answers = session.exec(
        select(SurveyAnswer.question_id, SurveyAnswer.value, SurveyAnswer.text).where(
            SurveyAnswer.survey_id == survey.id
        )
    ).all()
    by_question: dict[int, list[tuple[int | None, str | None]]] = {}
    for question_id, value, text in answers:
        by_question.setdefault(int(question_id), []).append((value, text))
    shuffler = random.SystemRandom()
    results: list[QuestionResult] = []
    for question in questions_of(session, survey_id=survey.id):
        assert question.id is not None
        given = by_question.get(question.id, [])
        if question.kind == TEXT:
            texts = [t for _, t in given if t]
            shuffler.shuffle(texts)
            results.append(
                QuestionResult(
                    question.id, question.position, question.kind, question.prompt, len(texts), texts=texts
                )
            )
            continue
        values = [v for v, _ in given if v is not None]
        if question.kind == SCALE:
            labels = [str(point) for point in range(SCALE_MIN, SCALE_MAX + 1)]
            options = [OptionCount(label, values.count(int(label))) for label in labels]
            average = sum(values) / len(values) if values else None
        else:
            options = [
                OptionCount(choice, values.count(index)) for index, choice in enumerate(question.choices)
            ]
            average = None
        results.append(
            QuestionResult(
                question.id, question.position, question.kind, question.prompt, len(values), options, average
            )
        )
    return SurveyResults(survey, READY, survey.min_group, responses, results)


def export_results_csv(session: Session, *, actor: Actor, survey_id: int, zone: ZoneInfo) -> bytes:
    """The results as CSV (UTF-8 with BOM, for Excel): one row per option with its count, one per free-text
    answer (shuffled). Only what `survey_results` shows: refused while there is no result. Audited."""
    results = survey_results(session, actor=actor, survey_id=survey_id)
    if not results.ready:
        raise DomainError(f"surveys.errors.results_{results.state}", min=results.min_group)
    survey = results.survey
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["survey", "closed_at (" + zone.key + ")", "responses"])
    writer.writerow([_cell(survey.title, zone), _cell(survey.closed_at, zone), results.responses])
    writer.writerow([])
    writer.writerow(["question", "kind", "prompt", "answer", "count"])
    for question in results.questions:
        head = [question.position, question.kind, _cell(question.prompt, zone)]
        if question.kind == TEXT:
            for text in question.texts:
                writer.writerow([*head, _cell(text, zone), 1])
            continue
        for option in question.options:
            writer.writerow([*head, _cell(option.label, zone), option.count])
        if question.average is not None:
            writer.writerow([*head, "average", f"{question.average:.2f}"])
    record(session, actor=actor.user_id, action="survey.export", target=f"survey:{survey.id}")
    session.flush()
    return (BOM + out.getvalue()).encode("utf-8")
