"""Members' control over their data: consent, export ("download my data") and erasure ("delete my data").

Erasure and export are generic: every table is declared in `RULES` (by table name) with
- how rows *owned* by the member are found: `member_columns` (hold `member.id`), `slack_columns` (hold the
  Slack user ID) and `list_columns` (hold Slack user IDs joined by commas, a group DM's `U1,U2,U3`: a row
  listing the member is theirs too, and only their ID in the list is replaced);
- what happens to owned rows: `delete`, or `pseudonymise` (text columns are blanked except those in `keep`;
  `pseudonym_columns` get the member's pseudonym; `keep_replaced` keep their text with the Slack ID replaced),
  with `delete_when` deleting some rows of a pseudonymised table instead (pending messages) and `transform`
  changing others (closing open posts);
- `mention_columns`: text in *any* row where the Slack ID may appear inside (audit details, message
  payloads); the ID is replaced by the pseudonym there;
- `messages`: the (channel, ts) columns of Slack messages an owned row stands for, and whether erasure
  deletes them, replaces them by a notice, or has them redrawn from the rows left (a group's intro without
  the member, a news post without its author); `messages_when` limits which owned rows stand for one,
  `message_key` names the column the caller redraws from, and `refresh` brings the (channel, ts) columns
  up to date first. The caller does the Slack calls, after the commit.
A table without a rule fails `tests/models/test_privacy.py`, so a new feature cannot forget its data.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, String, Table, Text, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel

from models.actors import Actor
from models.audit import record
from models.errors import NotFound, PermissionDenied
from models.member import Member, ensure_member, get_member
from models.outbox import DIGEST_PURPOSE, PENDING, SENT, revise_message, rows_of_purpose
from models.tables import import_all
from models.timeutil import now
from models.types import in_id_list

NONE = "none"
DELETE = "delete"
PSEUDONYMISE = "pseudonymise"
MESSAGE_DELETE = "delete"
MESSAGE_UPDATE = "update"
MESSAGE_REDRAW = "redraw"  # the caller renders the message again from what erasure left (`MessageRef.key`)
# Everything but `sent`: nothing more goes out to them, and unsent rows hold nothing worth keeping.
UNSENT_STATUSES = ("pending", "sending", "uncertain", "failed", "cancelled")


@dataclass(frozen=True)
class Rule:
    """How one table is exported and erased (see the module docstring)."""

    action: str
    member_columns: tuple[str, ...] = ()
    slack_columns: tuple[str, ...] = ()
    list_columns: tuple[str, ...] = ()  # comma-separated Slack user IDs (a group DM's recipients)
    keep: tuple[str, ...] = ()
    pseudonym_columns: tuple[str, ...] = ()
    keep_replaced: tuple[str, ...] = ()
    pointer_columns: tuple[str, ...] = ()  # foreign keys to `member` that may keep pointing at the tombstone
    mention_columns: tuple[str, ...] = ()
    delete_when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    transform: Callable[[Mapping[Any, Any]], dict[str, Any]] | None = None
    messages: tuple[str, str, str] | None = None  # (channel column, ts column, MESSAGE_DELETE|UPDATE|REDRAW)
    messages_when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    message_key: str | None = None  # the column whose value `MessageRef.key` carries (for a redraw)
    refresh: Callable[[Session], object] | None = None  # brings the `messages` columns up to date
    search_kind: str | None = None  # `models.search` documents of this kind (ref_id = row id) are removed
    why: str = ""

    @property
    def owns_rows(self) -> bool:
        return bool(self.member_columns or self.slack_columns or self.list_columns)


def _close_if_open(row: Mapping[Any, Any]) -> dict[str, Any]:
    if row.get("status") != "open":
        return {}
    changes: dict[str, Any] = {"status": "closed"}
    if "closed_at" in row:
        changes["closed_at"] = now()
    return changes


# The intros and news features may be left out of a build (see models.report): their names are used here
# as data, and their code is imported only when erasure runs.
# jobs.intros.PURPOSE_INTRO and PURPOSE_FOLLOW_UP (tests/models/test_privacy.py checks them)
_INTRO_PURPOSES = ("intros.intro", "intros.follow_up")


def _sync_news_posted(session: Session) -> object:
    from models.news import sync_posted

    return sync_posted(session)


RULES: dict[str, Rule] = {
    "member": Rule(
        PSEUDONYMISE,
        # The row stays as a tombstone so kept rows (closed posts, referrals made) still point somewhere.
        keep=("visibility", "source", "consent_version"),
        pseudonym_columns=("pseudonym",),
        search_kind="member",
        why="profile blanked; a pseudonym remains for the rows that must stay",
    ),
    "search_entry": Rule(NONE, why="documents are removed through the owning table's `search_kind`"),
    "checkin": Rule(
        DELETE,
        member_columns=("member_id",),
        messages=("channel", "message_ts", MESSAGE_UPDATE),
        why="their check-ins (a shared post is replaced by a notice)",
    ),
    "referral": Rule(
        PSEUDONYMISE,
        slack_columns=("referrer_id",),
        # The candidate's data is the candidate's (retention purges it); the referrer becomes a pseudonym.
        keep=(
            "candidate_name",
            "candidate_email",
            "candidate_url",
            "relationship",
            "why_fit",
            "status",
            "owner_id",
            "duplicate_key",
            "hr_channel",
            "hr_ts",
        ),
        pseudonym_columns=("referrer_id",),
        mention_columns=("owner_id",),
        why="referrals they made stay for HR's pipeline, with a pseudonym",
    ),
    "referral_status_change": Rule(
        NONE, mention_columns=("actor_id",), why="history of a kept referral; who acted is pseudonymised"
    ),
    "opportunity": Rule(
        PSEUDONYMISE,
        slack_columns=("poster_id",),
        keep=(
            "kind",
            "title",
            "company",
            "description",
            "location",
            "work_style",
            "skills",
            "compensation",
            "apply_url",
            "status",
            "channel_id",
            "message_ts",
            "permalink",
        ),
        pseudonym_columns=("poster_id",),
        transform=_close_if_open,
        pointer_columns=("filled_by_member_id",),
        messages=("channel_id", "message_ts", MESSAGE_UPDATE),
        search_kind="opportunity",
        why="open posts are closed; posts stay for the figures with a pseudonym (contact blanked)",
    ),
    "opportunity_interest": Rule(
        DELETE, member_columns=("member_id",), slack_columns=("user_id",), why="their interest clicks"
    ),
    "event": Rule(
        PSEUDONYMISE,
        slack_columns=("organizer",),
        keep=("title", "description", "tz", "place", "online_url", "status", "channel", "message_ts"),
        pseudonym_columns=("organizer",),
        why="events they organised stay for attendees, with a pseudonym",
    ),
    "event_rsvp": Rule(DELETE, member_columns=("member_id",), why="their RSVPs"),
    "event_feedback": Rule(DELETE, member_columns=("member_id",), why="their event ratings and comments"),
    "audit_log": Rule(
        NONE, mention_columns=("actor", "target", "detail"), why="kept for accountability, pseudonymised"
    ),
    "outbox_message": Rule(
        PSEUDONYMISE,
        # A group DM's recipient lists several user IDs (`U1,U2`): a message to a group they are in is
        # theirs as well (an intro carries their profile), so an unsent one is dropped like any other and a
        # sent one keeps no text; only their ID in the recipient list becomes the pseudonym.
        list_columns=("recipient",),
        keep=("purpose", "period", "status", "channel", "ts", "error", "claimed_by"),
        keep_replaced=("dedupe_key",),
        mention_columns=("dedupe_key", "payload"),
        delete_when={"status": UNSENT_STATUSES},
        # A posted intro shows their name, mention and profile to the group: it is redrawn without them.
        # "Did you meet?" names nobody, but its metadata (the outbox key) lists the group's IDs: it is
        # redrawn without metadata. Other DMs went to them alone.
        messages=("channel", "ts", MESSAGE_REDRAW),
        messages_when={"purpose": _INTRO_PURPOSES},
        message_key="period",
        why="pending messages to them (or to a group DM with them) are dropped; sent-message records keep a "
        "pseudonym; posted intros of their groups are redrawn without them",
    ),
    "job_run": Rule(NONE, why="no personal data"),
    "program_settings": Rule(
        NONE, mention_columns=("updated_by",), why="who changed settings, pseudonymised"
    ),
    "roster_record": Rule(DELETE, member_columns=("member_id",), why="HR's roster row about them"),
    "intro_preference": Rule(DELETE, member_columns=("member_id",), why="their intro settings"),
    "intro_round": Rule(NONE, why="no personal data (a period and an instant)"),
    "intro_group": Rule(NONE, why="no personal data (who was in it lives in intro_group_member)"),
    "intro_group_member": Rule(
        DELETE, member_columns=("member_id",), why="which intro groups they were in and their answers"
    ),
    "invitation": Rule(
        DELETE,
        member_columns=("member_id",),
        mention_columns=("queued_by",),
        why="HR's invitation email to them (also deleted with their roster row); who invited is pseudonymised",
    ),
    "feedback": Rule(
        DELETE,
        member_columns=("member_id",),
        slack_columns=("sender_user_id",),
        mention_columns=("replied_by",),
        messages=("hr_channel", "hr_ts", MESSAGE_UPDATE),
        why="their feedback; the HR channel's copy is replaced by a notice",
    ),
    "survey": Rule(
        NONE, mention_columns=("created_by",), why="HR's survey stays; who created it is pseudonymised"
    ),
    "survey_question": Rule(NONE, why="HR's questions; no personal data"),
    "survey_recipient": Rule(
        DELETE, member_columns=("member_id",), why="that they were asked, reminded and have answered"
    ),
    "survey_answer": Rule(
        NONE,
        why="anonymous answers: no column links an answer to anyone (by design), so none can be found, "
        "exported or erased as theirs; they stay in the survey's results",
    ),
    # A story is about its subject: erasing the subject deletes it and replaces every posted copy. Stories
    # an erased HR author wrote about others stay (they are the subjects'), with the author pseudonymised.
    "story": Rule(
        DELETE,
        slack_columns=("subject_id",),
        mention_columns=("author_id",),
        why="stories about them (the posted copies are replaced by a notice)",
    ),
    "story_approval": Rule(
        DELETE, slack_columns=("approver_id",), why="their approvals and refusals of stories about them"
    ),
    "story_copy": Rule(
        DELETE,
        slack_columns=("subject_id",),
        messages=("channel", "ts", MESSAGE_UPDATE),
        why="where stories about them were posted; each copy is replaced by a notice",
    ),
    "news_post": Rule(
        PSEUDONYMISE,
        slack_columns=("author_id",),
        keep=("title", "body", "image_url", "outbox_key", "channel", "ts"),
        pseudonym_columns=("author_id",),
        # The post names its author: it is redrawn without them. Its (channel, ts) is copied from the outbox
        # only by the daily reach job, so erasure copies it first.
        messages=("channel", "ts", MESSAGE_REDRAW),
        message_key="id",
        refresh=_sync_news_posted,
        why="company news they posted stays for the alumni, with a pseudonym; the post no longer names them",
    ),
}


def rule_for(table: str) -> Rule | None:
    return RULES.get(table)


def tables() -> dict[str, Table]:
    """Every table the models define, by name."""
    import_all()
    return dict(SQLModel.metadata.tables)


def _is_text(column: Any) -> bool:
    return isinstance(column.type, String | Text) or isinstance(getattr(column.type, "impl", None), String)


def _is_json(column: Any) -> bool:
    return isinstance(column.type, JSON)


# ---------------------------------------------------------------------------------------------- consent


def record_consent(session: Session, *, actor: Actor, display_name: str | None = None) -> Member:
    """The member agrees to the privacy notice (time and text version stored and audited by the profile rules)."""
    from models.profile import give_consent

    return give_consent(session, actor=actor, display_name=display_name)


def withdraw_consent(session: Session, *, slack_user_id: str) -> Member:
    """The member withdraws consent: their profile is hidden from other members again."""
    member = get_member(session, slack_user_id=slack_user_id)
    if member is None:
        raise NotFound("not_found")
    member.consented_at = None
    member.updated_at = now()
    record(session, actor=slack_user_id, action="privacy.withdraw", target=f"member:{member.id}")
    session.flush()
    return member


# ---------------------------------------------------------------------------------------------- finding rows


def _owned_condition(
    table: Table, rule: Rule, member: Member, slack_user_id: str
) -> ColumnElement[bool] | None:
    conditions: list[ColumnElement[bool]] = []
    if table.name == "member":
        conditions.append(table.c.id == member.id)
    for name in rule.member_columns:
        conditions.append(table.c[name] == member.id)
    conditions += _slack_conditions(table, rule, slack_user_id)
    return or_(*conditions) if conditions else None


def _slack_conditions(table: Table, rule: Rule, slack_user_id: str) -> list[ColumnElement[bool]]:
    """Rows whose Slack user ID columns name the member, alone or as one entry of a comma-separated list."""
    conditions: list[ColumnElement[bool]] = [table.c[name] == slack_user_id for name in rule.slack_columns]
    conditions += [in_id_list(table.c[name], slack_user_id) for name in rule.list_columns]
    return conditions


def _id_pattern(slack_user_id: str) -> re.Pattern[str]:
    # The ID as a whole word: `U0ABC` must not match inside another user's `U0ABCD`.
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(slack_user_id)}(?![A-Za-z0-9])")


def _mentions(value: str, slack_user_id: str) -> bool:
    return _id_pattern(slack_user_id).search(value) is not None


def _replace_id(value: str, slack_user_id: str, pseudonym: str) -> str:
    return _id_pattern(slack_user_id).sub(pseudonym, value)


def _replace_in_list(value: Any, slack_user_id: str, pseudonym: str) -> Any:
    if not isinstance(value, str):
        return value
    return ",".join(pseudonym if entry == slack_user_id else entry for entry in value.split(","))


def _mention_condition(table: Table, rule: Rule, slack_user_id: str) -> ColumnElement[bool] | None:
    if not rule.mention_columns:
        return None
    return or_(*(table.c[name].contains(slack_user_id, autoescape=True) for name in rule.mention_columns))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def export_member_data(session: Session, *, slack_user_id: str) -> dict[str, Any]:
    """Everything the bot holds about a member, table by table (for the JSON download)."""
    member = get_member(session, slack_user_id=slack_user_id)
    data: dict[str, Any] = {
        "slack_user_id": slack_user_id,
        "exported_at": now().isoformat(),
        "tables": {},
    }
    for name, table in sorted(tables().items()):
        rule = RULES.get(name)
        if rule is None:
            continue
        conditions = []
        if member is not None:
            owned = _owned_condition(table, rule, member, slack_user_id)
            if owned is not None:
                conditions.append(owned)
        else:
            conditions.extend(_slack_conditions(table, rule, slack_user_id))
        mention = _mention_condition(table, rule, slack_user_id)
        if mention is not None:
            conditions.append(mention)
        if not conditions:
            continue
        rows = session.connection().execute(table.select().where(or_(*conditions))).mappings().all()
        if rows:
            data["tables"][name] = [{k: _jsonable(v) for k, v in row.items()} for row in rows]
    return data


def export_json(session: Session, *, slack_user_id: str) -> bytes:
    """The export as pretty UTF-8 JSON."""
    data = export_member_data(session, slack_user_id=slack_user_id)
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")


# ---------------------------------------------------------------------------------------------- erasure


@dataclass(frozen=True)
class MessageRef:
    """A Slack message that stood for an erased row: delete it, update it to a neutral notice, or redraw it
    from the row named by `key` (the rule's `message_key`)."""

    table: str
    channel: str
    ts: str
    action: str
    key: str = ""


@dataclass
class ErasureResult:
    pseudonym: str
    deleted: dict[str, int] = field(default_factory=dict)
    pseudonymised: dict[str, int] = field(default_factory=dict)
    mentions_replaced: dict[str, int] = field(default_factory=dict)
    messages: list[MessageRef] = field(default_factory=list)


def new_pseudonym() -> str:
    return f"former-member-{secrets.token_hex(4)}"


def _blank(column: Any) -> Any:
    if column.nullable:
        return None
    if _is_json(column):
        return {}
    return ""


def erase_member(
    session: Session, *, actor: Actor, slack_user_id: str, removed_line: str = "—"
) -> ErasureResult:
    """Delete or pseudonymise everything about a member (the member themselves, or HR on their request).

    Returns the Slack messages to delete or update; the caller does that after the commit. In weekly digests
    already built, every line that mentions the member becomes `removed_line` (`_scrub_digests`).
    """
    if actor.user_id != slack_user_id and not actor.is_hr:
        raise PermissionDenied("not_allowed")
    member = get_member(session, slack_user_id=slack_user_id)
    if member is None:
        member = ensure_member(session, slack_user_id=slack_user_id)
    pseudonym = member.pseudonym or new_pseudonym()
    result = ErasureResult(pseudonym=pseudonym)
    session.flush()
    conn = session.connection()
    all_tables = tables()
    unknown = sorted(set(all_tables) - set(RULES))
    if unknown:
        # Refuse rather than leave data behind: a table was added without a privacy rule.
        raise RuntimeError(f"no privacy rule for tables: {', '.join(unknown)}")
    ordered = [t for t in reversed(SQLModel.metadata.sorted_tables) if t.name in all_tables]
    for rule in RULES.values():
        if rule.refresh is not None:
            rule.refresh(session)
    _scrub_digests(session, slack_user_id, removed_line, pseudonym=pseudonym)
    for table in ordered:
        rule = RULES[table.name]
        pk = list(table.primary_key.columns)
        owned = _owned_condition(table, rule, member, slack_user_id)
        if owned is not None and rule.action != NONE:
            rows = conn.execute(table.select().where(owned)).mappings().all()
            for row in rows:
                key = and_pk(table, pk, row)
                ref = _message_ref(table.name, rule, row)
                if ref is not None:
                    result.messages.append(ref)
                if rule.search_kind:
                    _remove_search_document(session, kind=rule.search_kind, ref_id=row.get("id"))
                doomed = rule.action == DELETE or any(
                    row.get(c) in values for c, values in rule.delete_when.items()
                )
                if doomed:
                    conn.execute(table.delete().where(key))
                    result.deleted[table.name] = result.deleted.get(table.name, 0) + 1
                    continue
                changes: dict[str, Any] = dict(rule.transform(row)) if rule.transform else {}
                for column in table.columns:
                    name = column.name
                    if name in changes or column.primary_key or name in rule.keep or column.foreign_keys:
                        continue
                    if name in rule.pseudonym_columns:
                        changes[name] = pseudonym
                    elif name in rule.list_columns:
                        changes[name] = _replace_in_list(row.get(name), slack_user_id, pseudonym)
                    elif name in rule.keep_replaced:
                        value = row.get(name)
                        changes[name] = (
                            _replace_id(value, slack_user_id, pseudonym) if isinstance(value, str) else value
                        )
                    elif _is_text(column) or _is_json(column):
                        changes[name] = _blank(column)
                if table.name == "member":
                    changes.update(erased_at=now(), updated_at=now())
                conn.execute(table.update().where(key).values(**changes))
                result.pseudonymised[table.name] = result.pseudonymised.get(table.name, 0) + 1
        mention = _mention_condition(table, rule, slack_user_id)
        if mention is not None:
            rows = conn.execute(table.select().where(mention)).mappings().all()
            for row in rows:
                changes = {
                    name: _replace_id(row[name], slack_user_id, pseudonym)
                    for name in rule.mention_columns
                    if isinstance(row.get(name), str) and _mentions(row[name], slack_user_id)
                }
                if changes:
                    conn.execute(table.update().where(and_pk(table, pk, row)).values(**changes))
                    result.mentions_replaced[table.name] = result.mentions_replaced.get(table.name, 0) + 1
    session.expire_all()
    record(
        session,
        actor=pseudonym if actor.user_id == slack_user_id else actor.user_id,
        action="privacy.erase",
        target=f"member:{member.id}",
        by_hr=actor.user_id != slack_user_id,
        deleted=result.deleted,
        pseudonymised=result.pseudonymised,
    )
    session.flush()
    return result


# The in-place updates of posted digests that erasure revised (`models.outbox.revise_message`).
DIGEST_ERASURE_PURPOSE = "digest_erasure"


def _scrub_digests(session: Session, slack_user_id: str, removed_line: str, *, pseudonym: str) -> None:
    """Weekly digests list members by mention (new members, shared check-ins, stories): in every digest built,
    each line mentioning the member becomes `removed_line`. A waiting digest goes out that way; a posted one is
    updated in place through the outbox."""
    mention = f"<@{slack_user_id}>"

    def scrub(text: str) -> str:
        if mention not in text:
            return text
        return "\n".join(removed_line if mention in line else line for line in text.split("\n"))

    for row in rows_of_purpose(session, purpose=DIGEST_PURPOSE, statuses=(PENDING, SENT), containing=mention):
        # A row a worker claimed meanwhile goes out as built (the ID in it is pseudonymised below).
        revise_message(session, row, scrub, update_purpose=DIGEST_ERASURE_PURPOSE, tag=pseudonym)


def _message_ref(table: str, rule: Rule, row: Mapping[Any, Any]) -> MessageRef | None:
    """The Slack message an owned row stands for, if its rule has one and the row was posted."""
    if rule.messages is None or any(row.get(c) not in values for c, values in rule.messages_when.items()):
        return None
    channel, ts = row.get(rule.messages[0]), row.get(rule.messages[1])
    if not channel or not ts:
        return None
    key = str(row.get(rule.message_key) or "") if rule.message_key else ""
    return MessageRef(table, str(channel), str(ts), rule.messages[2], key=key)


def _remove_search_document(session: Session, *, kind: str, ref_id: Any) -> None:
    if not isinstance(ref_id, int):
        return
    from models.search import remove_document

    remove_document(session, kind=kind, ref_id=ref_id)


def and_pk(table: Table, pk: list[Any], row: Mapping[Any, Any]) -> ColumnElement[bool]:
    """The WHERE clause selecting one row by its primary key."""
    from sqlalchemy import and_

    return and_(*(table.c[c.name] == row[c.name] for c in pk))


# ---------------------------------------------------------------------------------------------- retention

CLOSED_REFERRAL_STATUSES = ("hired", "not_a_fit", "withdrawn")
PURGED_CANDIDATE_NAME = "-"


def purge_candidate_contacts(session: Session, *, older_than_days: int) -> list[MessageRef]:
    """Blank candidate data of referrals closed more than N days ago; returns their HR channel messages."""
    table = tables().get("referral")
    if table is None:
        return []
    from datetime import timedelta

    cutoff = now() - timedelta(days=older_than_days)
    history = tables().get("referral_status_change")
    conn = session.connection()
    rows = (
        conn.execute(
            table.select().where(
                table.c.status.in_(CLOSED_REFERRAL_STATUSES),
                table.c.updated_at < cutoff,
                table.c.candidate_name != PURGED_CANDIDATE_NAME,
            )
        )
        .mappings()
        .all()
    )
    refs: list[MessageRef] = []
    for row in rows:
        conn.execute(
            table.update()
            .where(table.c.id == row["id"])
            .values(
                candidate_name=PURGED_CANDIDATE_NAME,
                candidate_email=None,
                candidate_url=None,
                relationship="",
                why_fit="",
                duplicate_key=None,
            )
        )
        if history is not None:
            # HR's notes on the status changes may name the candidate too.
            conn.execute(history.update().where(history.c.referral_id == row["id"]).values(note=""))
        if row.get("hr_channel") and row.get("hr_ts"):
            refs.append(MessageRef("referral", str(row["hr_channel"]), str(row["hr_ts"]), MESSAGE_UPDATE))
    if rows:
        record(
            session,
            actor="system",
            action="retention.purge",
            target="referral",
            count=len(rows),
            days=older_than_days,
        )
    session.expire_all()
    session.flush()
    return refs
