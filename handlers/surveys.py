"""Pulse surveys: HR creates and sends a survey (the Home tab's "New survey" or `/alumni survey`), closes it
early, reads the results (message, CSV, chart) and writes "you said, we did"; a member answers from the
invitation DM or the Home tab.

Every HR listener checks the role on the server (`hr_clicker`, and the model functions refuse a non-HR actor
again), so a forged button or modal from a member changes and shows nothing. Answers are anonymous: nothing
here logs or posts who answered. Decisions are made before the ack; DMs, files and Home publishes follow it
through `later`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from slack_bolt import Ack
from sqlmodel import Session

from bot.blocks import surveys as ui
from bot.blocks.common import BlockDict
from bot.charts import survey_chart
from bot.forms import error_message, field_errors, input_block_ids, state_values
from bot.forms import text as form_text
from bot.i18n import Translator
from bot.kit import (
    Feature,
    Later,
    RowWork,
    action,
    decide_then_ack,
    hr_or_refuse,
    publish_home,
    tell_clicker,
    user_zone,
    view,
)
from bot.listeners import parse_id, user_id_of
from bot.mrkdwn import escape
from bot.services import Services
from bot.slack_files import upload_file
from jobs import surveys as survey_jobs
from models import survey as sv
from models.errors import DomainError, NotFound, ValidationFailed
from models.timeutil import now

SURVEY_WORDS = ("survey", "surveys", "アンケート")
_T = TypeVar("_T")


def home_section(services: Services, user_id: str, tr: Translator) -> list[BlockDict]:
    """Surveys waiting for the member's answer; for HR also the overview with a "New survey" button."""
    actor = services.actor(user_id)
    with services.db.session() as session:
        blocks = ui.home_member_blocks(sv.open_surveys_for(session, user_id=user_id), tr)
        if actor.is_hr:
            blocks += ui.home_hr_blocks(sv.list_surveys(session, actor=actor), tr)
    return blocks


def _metadata_survey_id(view: Mapping[str, Any]) -> int | None:
    """The survey id in a modal's `private_metadata` (`{"survey_id": ...}`); None when missing or forged."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return None
    return parse_id(data.get("survey_id")) if isinstance(data, dict) else None


def _button_work(
    services: Services, ack: Ack, body: dict[str, Any], later: Later, work: RowWork[_T]
) -> tuple[int, _T] | None:
    """`decide_then_ack` for the survey the button names."""
    value = (body.get("actions") or [{}])[0].get("value")
    return decide_then_ack(services, ack, body, later, parse_id(value), work)


def _open_create_modal(services: Services, user_id: str, trigger_id: str) -> None:
    with services.db.session() as session:
        choices = sv.audience_choices(session)
    modal = ui.create_modal(services.translator(user_id), choices=choices, now=now())
    services.client.views_open(trigger_id=trigger_id, view=modal)


# -- HR ---------------------------------------------------------------------------------------------------


def on_new(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """HR's "New survey" on the Home tab: the create modal (anyone else is refused privately)."""
    user_id = hr_or_refuse(services, ack, body, later)
    if user_id is None:
        return
    ack()
    _open_create_modal(services, user_id, str(body.get("trigger_id")))


def on_survey_subcommand(services: Services, ack: Ack, command: dict[str, Any], rest: str) -> None:
    """`/alumni survey` (`アンケート`): HR gets the create modal; anyone else a translated refusal."""
    user_id = str(command.get("user_id") or "")
    if not services.actor(user_id).is_hr:
        ack(response_type="ephemeral", text=services.translator(user_id)("admin.not_hr"))
        return
    ack()
    _open_create_modal(services, user_id, str(command.get("trigger_id")))


def on_create(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later) -> None:
    """The create modal: created and sent to its audience in one unit of work before the ack (field errors stay
    in the modal, nothing saved); the invitation job DMs the recipients."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    actor = services.actor(user_id)
    draft = ui.draft_from_values(state_values(view))
    try:
        with services.db.session() as session:
            survey = sv.create_survey(session, actor=actor, draft=draft)
            assert survey.id is not None
            asked = sv.open_survey(session, actor=actor, survey_id=survey.id)
            title = survey.title
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
        return
    except DomainError as exc:  # audience too small, closing time passed, not HR: at the field named
        ack(response_action="errors", errors={_field_of(exc, view, ui.FIELD_TITLE): error_message(exc, tr)})
        return
    ack()
    note = tr("surveys.msg.sent", title=escape(title), count=asked)
    later(lambda: _tell_and_refresh(services, body, user_id, note))


def _field_of(exc: DomainError, view: dict[str, Any], default: str) -> str:
    """Where a refusal is shown in a modal: the field the domain names when the modal has it."""
    return exc.field if exc.field and exc.field in input_block_ids(view) else default


def _tell_and_refresh(services: Services, body: dict[str, Any], user_id: str, text: str) -> None:
    tell_clicker(services, body, text)
    publish_home(services, user_id)


def on_open(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """HR's "Send to members" for a draft (HR only, checked again by the model)."""
    user_id = hr_or_refuse(services, ack, body, later)
    if user_id is None:
        return
    actor = services.actor(user_id)
    found = _button_work(services, ack, body, later, lambda s, i: sv.open_survey(s, actor=actor, survey_id=i))
    if found is not None:
        note = services.translator(user_id)("surveys.msg.opened", count=found[1])
        later(lambda: _tell_and_refresh(services, body, user_id, note))


def on_close(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """HR's "Close now": closed before the ack; HR is told and the Home tab refreshed after it."""
    user_id = hr_or_refuse(services, ack, body, later)
    if user_id is None:
        return
    actor = services.actor(user_id)
    found = _button_work(
        services, ack, body, later, lambda s, i: sv.close_survey(s, actor=actor, survey_id=i).title
    )
    if found is not None:
        note = services.translator(user_id)("surveys.msg.closed", title=escape(found[1]))
        later(lambda: _tell_and_refresh(services, body, user_id, note))


def on_results(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """HR's "See results": the results message, privately (or why there are none yet)."""
    user_id = hr_or_refuse(services, ack, body, later)
    if user_id is None:
        return
    actor = services.actor(user_id)
    tr = services.translator(user_id)
    found = _button_work(
        services,
        ack,
        body,
        later,
        lambda s, i: ui.results_message(sv.survey_results(s, actor=actor, survey_id=i), tr),
    )
    if found is not None:
        message = found[1]
        later(lambda: tell_clicker(services, body, message["text"], blocks=message["blocks"]))


def on_export(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """HR's "Download CSV": the file in HR's DM (refused while there are no results; audited by the model)."""
    user_id = hr_or_refuse(services, ack, body, later)
    if user_id is None:
        return
    actor = services.actor(user_id)
    zone = user_zone(services, user_id)

    def work(session: Session, survey_id: int) -> tuple[bytes, str]:
        data = sv.export_results_csv(session, actor=actor, survey_id=survey_id, zone=zone)
        return data, sv.get_survey(session, survey_id=survey_id).title

    found = _button_work(services, ack, body, later, work)
    if found is not None:
        survey_id, (content, title) = found
        later(lambda: _send_file(services, user_id, content, f"survey-{survey_id}.csv", title))


def on_chart(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """HR's "Chart": a bar chart of the scale and choice questions as an image in HR's DM."""
    user_id = hr_or_refuse(services, ack, body, later)
    if user_id is None:
        return
    actor = services.actor(user_id)

    def work(session: Session, survey_id: int) -> sv.SurveyResults:
        results = sv.survey_results(session, actor=actor, survey_id=survey_id)
        if not results.ready:
            raise DomainError(f"surveys.errors.results_{results.state}", min=results.min_group)
        return results

    found = _button_work(services, ack, body, later, work)
    if found is not None:
        survey_id, results = found
        title = results.survey.title
        later(lambda: _send_chart(services, user_id, survey_id, title, ui.chart_series(results)))


def _send_chart(services: Services, user_id: str, survey_id: int, title: str, series: list[Any]) -> None:
    image = survey_chart(series, title=title)
    _send_file(services, user_id, image, f"survey-{survey_id}.png", title)


def _send_file(services: Services, user_id: str, content: bytes, filename: str, title: str) -> None:
    upload_file(services.client, recipient=user_id, content=content, filename=filename, title=title)


def on_change_open(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """HR's "You said, we did": the note modal for a survey."""
    user_id = hr_or_refuse(services, ack, body, later)
    if user_id is None:
        return
    found = _button_work(services, ack, body, later, lambda s, i: sv.get_survey(s, survey_id=i))
    if found is not None:
        modal = ui.change_modal(found[1], services.translator(user_id))
        services.client.views_open(trigger_id=str(body.get("trigger_id")), view=modal)


def on_change_save(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """The note is saved before the ack (errors at the field); the next digest publishes it once."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    survey_id = _metadata_survey_id(view)
    note = form_text(state_values(view), ui.FIELD_CHANGE_NOTE)
    try:
        if survey_id is None:
            raise NotFound("not_found")
        with services.db.session() as session:
            sv.record_survey_change(session, actor=services.actor(user_id), survey_id=survey_id, note=note)
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
        return
    except DomainError as exc:
        ack(response_action="errors", errors={ui.FIELD_CHANGE_NOTE: error_message(exc, tr)})
        return
    ack()
    later(lambda: _tell_and_refresh(services, body, user_id, tr("surveys.msg.change_saved")))


# -- members ----------------------------------------------------------------------------------------------


def on_answer_open(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """ "Answer" (invitation DM or Home): the answer modal, only for a recipient who has not answered."""
    user_id = user_id_of(body)
    actor = services.actor(user_id)
    found = _button_work(
        services, ack, body, later, lambda s, i: sv.survey_for_answering(s, actor=actor, survey_id=i)
    )
    if found is not None:
        survey, questions = found[1]
        modal = ui.answer_modal(survey, questions, services.translator(user_id))
        services.client.views_open(trigger_id=str(body.get("trigger_id")), view=modal)


def on_answer_submit(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """The answers are saved (anonymously, once) before the ack; the modal thanks; Home refreshes after."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    survey_id = _metadata_survey_id(view)
    answers = ui.answers_from_values(state_values(view))
    block_ids = input_block_ids(view)
    try:
        if survey_id is None:
            raise NotFound("not_found")
        with services.db.session() as session:
            sv.submit_answers(session, actor=services.actor(user_id), survey_id=survey_id, answers=answers)
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=block_ids))
        return
    except DomainError as exc:
        target = sorted(block_ids)[0] if block_ids else "answer"
        ack(response_action="errors", errors={target: error_message(exc, tr)})
        return
    ack(response_action="update", view=ui.thanks_modal(tr))
    later(lambda: publish_home(services, user_id))


FEATURE = Feature(
    name="surveys",
    listeners=(
        action(ui.ACTION_NEW, on_new),
        view(ui.VIEW_CREATE, on_create),
        action(ui.ACTION_OPEN, on_open),
        action(ui.ACTION_CLOSE, on_close),
        action(ui.ACTION_RESULTS, on_results),
        action(ui.ACTION_EXPORT, on_export),
        action(ui.ACTION_CHART, on_chart),
        action(ui.ACTION_CHANGE, on_change_open),
        view(ui.VIEW_CHANGE, on_change_save),
        action(ui.ACTION_ANSWER, on_answer_open),
        view(ui.VIEW_ANSWER, on_answer_submit),
    ),
    home=home_section,
    home_order=35,
    subcommands={word: on_survey_subcommand for word in SURVEY_WORDS},
    jobs=tuple(survey_jobs.SCHEDULED_JOBS),
    digest=survey_jobs.digest_section,
    digest_order=survey_jobs.DIGEST_ORDER,
    scopes=(*survey_jobs.SCOPES, "files:write"),
)
