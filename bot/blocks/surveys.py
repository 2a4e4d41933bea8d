"""Block Kit for pulse surveys: HR's create modal, the invitation and reminder DMs, the answer modal, the
results message, Home sections, and the readers that turn the two modals' state back into domain input.
Pure: no I/O; every builder returns plain dicts.

HR's create modal has a fixed set of five question groups (`QUESTION_SLOTS`), each three inputs:
the kind (Scale 1-5 / Choice / Free text), the question, and the choices (one per line, used by Choice only).
Question 1 is required; a group left empty is simply not asked. That keeps one modal to 26 blocks (Slack allows
100) with a form HR can read top to bottom, and a mistake lands on the exact input (`q2_choices`): the input
block IDs are the domain's field keys (`models.survey.question_field`, `bot.forms` convention).

The answer modal has one input per question, block_id `answer_<question id>` (`models.survey.answer_field`),
so `answers_from_values` maps the submission back to questions and `submit_answers`' errors land on the
right question.

Every user-written string (title, intro, prompts, choices, free-text answers) is escaped before it is rendered
in mrkdwn; header blocks, labels and options are plain text and need no escaping.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.blocks.common import (
    BlockDict,
    actions,
    button,
    context,
    divider,
    header,
    input_block,
    section,
    to_dicts,
)
from bot.i18n import Translator
from bot.mrkdwn import date_token, escape, truncate
from models.survey import (
    CHOICE,
    CHOICE_MAX,
    CLOSED,
    DEFAULT_MIN_GROUP,
    DRAFT,
    INTRO_MAX,
    KINDS,
    MIN_GROUP_FLOOR,
    MIN_GROUP_MAX,
    NOT_CLOSED,
    OPEN,
    PROMPT_MAX,
    QUESTIONS_MAX,
    SCALE,
    SCALE_MAX,
    SCALE_MIN,
    SEGMENT_ALL,
    SEGMENT_DEPARTMENT,
    SEGMENT_EVENT,
    SEGMENT_LEFT_YEAR,
    SEGMENT_REHIRE,
    TEXT,
    TEXT_ANSWER_MAX,
    TITLE_MAX,
    AudienceChoices,
    Progress,
    QuestionDraft,
    QuestionResult,
    Segment,
    Survey,
    SurveyDraft,
    SurveyQuestion,
    SurveyResults,
    answer_field,
    question_field,
)

# IDs Slack sends back.
ACTION_NEW = "surveys_new"  # HR: open the create modal
ACTION_OPEN = "surveys_open"  # HR: send a draft to its audience (value: survey id)
ACTION_CLOSE = "surveys_close"  # HR: close early
ACTION_RESULTS = "surveys_results"  # HR: see results
ACTION_EXPORT = "surveys_export"  # HR: CSV
ACTION_CHART = "surveys_chart"  # HR: chart image
ACTION_CHANGE = "surveys_change"  # HR: "you said, we did" note
ACTION_ANSWER = "surveys_answer"  # member: open the answer modal (value: survey id)
VIEW_CREATE = "surveys_create"
VIEW_ANSWER = "surveys_answer_submit"
VIEW_CHANGE = "surveys_change_save"
# Input block IDs are the domain field names (bot.forms convention); questions use `question_field`.
FIELD_TITLE = "title"
FIELD_INTRO = "intro"
FIELD_CLOSES_AT = "closes_at"
FIELD_AUDIENCE = "audience"
FIELD_MIN_GROUP = "min_group"
FIELD_CHANGE_NOTE = "change_note"
QUESTION_SLOTS = tuple(range(1, QUESTIONS_MAX + 1))
QUESTION_PARTS = ("kind", "prompt", "choices")
SEGMENT_SEPARATOR = ":"
OPTION_VALUE_MAX = 150  # Slack's limit for an option's value
BAR_WIDTH = 10
TEXTS_SHOWN = 10
DEFAULT_OPEN_FOR = timedelta(days=7)
CHOICES_INPUT_MAX = 10 * (CHOICE_MAX + 1)  # ten choices, one per line


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit)}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text, 75), "value": value}


def _text_element(action_id: str, *, max_length: int, multiline: bool = False) -> dict[str, Any]:
    return {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": max_length,
    }


def _modal(
    callback_id: str, title: str, blocks: list[dict[str, Any]], tr: Translator, **extra: Any
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title, 24),
        "close": _plain(tr("common.cancel"), 24),
        "blocks": blocks,
    }
    view.update(extra)
    return view


def closes_label(survey: Survey) -> str:
    """The closing instant as a date token: each viewer sees it in their own time zone."""
    return date_token(
        survey.closes_at, fallback=survey.closes_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )


def segment_value(segment: Segment) -> str:
    """The audience menu's option value for a segment: `all`, `department:Sales`, `attended_event:12`."""
    return segment.kind if not segment.value else f"{segment.kind}{SEGMENT_SEPARATOR}{segment.value}"


def segment_from_value(value: str | None) -> Segment:
    """The segment an audience option stands for (an unknown kind is refused by `create_survey`)."""
    kind, _, rest = (value or "").partition(SEGMENT_SEPARATOR)
    return Segment(kind or SEGMENT_ALL, rest)


def audience_label(segment: Segment, tr: Translator, *, event_title: str | None = None) -> str:
    """Plain text naming an audience: "All members", "Department: Sales", "Attendees of Meetup"."""
    if segment.kind == SEGMENT_EVENT:
        return tr("surveys.audience.event", event=event_title or f"#{segment.value}")
    if segment.kind in (SEGMENT_DEPARTMENT, SEGMENT_LEFT_YEAR):
        return tr(f"surveys.audience.{segment.kind}", value=segment.value)
    return (
        tr(f"surveys.audience.{segment.kind}")
        if segment.kind in (SEGMENT_ALL, SEGMENT_REHIRE)
        else segment.kind
    )


# ------------------------------------------------------------------------------------------- HR: create


def _audience_element(choices: AudienceChoices, tr: Translator) -> dict[str, Any]:
    general = [
        _option(tr("surveys.audience.all"), SEGMENT_ALL),
        _option(tr("surveys.audience.open_to_rehire"), SEGMENT_REHIRE),
    ]
    groups: list[dict[str, Any]] = [
        {"label": _plain(tr("surveys.audience.group_general"), 75), "options": general}
    ]

    def group(label_key: str, options: list[dict[str, Any]]) -> None:
        if options:
            groups.append({"label": _plain(tr(label_key), 75), "options": options[:100]})

    def fits(segment: Segment) -> bool:
        return len(segment_value(segment)) <= OPTION_VALUE_MAX

    departments = [Segment(SEGMENT_DEPARTMENT, d) for d in choices.departments]
    group(
        "surveys.audience.group_department",
        [_option(d.value, segment_value(d)) for d in departments if fits(d)],
    )
    group(
        "surveys.audience.group_left_year",
        [_option(str(y), segment_value(Segment(SEGMENT_LEFT_YEAR, str(y)))) for y in choices.left_years],
    )
    group(
        "surveys.audience.group_event",
        [_option(title, segment_value(Segment(SEGMENT_EVENT, str(i)))) for i, title in choices.events],
    )
    return {
        "type": "static_select",
        "action_id": FIELD_AUDIENCE,
        "option_groups": groups,
        "initial_option": general[0],
    }


def _question_group(slot: int, tr: Translator) -> list[dict[str, Any]]:
    optional = slot != 1
    kinds = [_option(tr(f"surveys.kind.{kind}"), kind) for kind in KINDS]
    kind_element: dict[str, Any] = {
        "type": "static_select",
        "action_id": question_field(slot, "kind"),
        "options": kinds,
    }
    if slot == 1:
        kind_element["initial_option"] = kinds[0]
    return [
        to_dicts([section(tr("surveys.create.question_heading", n=slot), block_id=f"q{slot}_heading")])[0],
        input_block(
            question_field(slot, "kind"), tr("surveys.create.kind_label"), kind_element, optional=optional
        ),
        input_block(
            question_field(slot, "prompt"),
            tr("surveys.create.prompt_label"),
            _text_element(question_field(slot, "prompt"), max_length=PROMPT_MAX),
            optional=optional,
        ),
        input_block(
            question_field(slot, "choices"),
            tr("surveys.create.choices_label"),
            _text_element(question_field(slot, "choices"), max_length=CHOICES_INPUT_MAX, multiline=True),
            optional=True,
            hint=tr("surveys.create.choices_hint", max=CHOICE_MAX),
        ),
    ]


def create_modal(
    tr: Translator, *, choices: AudienceChoices, now: datetime, metadata: str = ""
) -> dict[str, Any]:
    """HR's "new survey" modal: title, intro, closing time, audience, threshold, and five question groups."""
    closes: dict[str, Any] = {
        "type": "datetimepicker",
        "action_id": FIELD_CLOSES_AT,
        "initial_date_time": int((now + DEFAULT_OPEN_FOR).timestamp()),
    }
    min_group = {
        "type": "number_input",
        "action_id": FIELD_MIN_GROUP,
        "is_decimal_allowed": False,
        "min_value": str(MIN_GROUP_FLOOR),
        "max_value": str(MIN_GROUP_MAX),  # Slack stops a larger number in the form (the model refuses it too)
        "initial_value": str(DEFAULT_MIN_GROUP),
    }
    blocks: list[dict[str, Any]] = [
        input_block(
            FIELD_TITLE, tr("surveys.create.title_label"), _text_element(FIELD_TITLE, max_length=TITLE_MAX)
        ),
        input_block(
            FIELD_INTRO,
            tr("surveys.create.intro_label"),
            _text_element(FIELD_INTRO, max_length=INTRO_MAX, multiline=True),
            optional=True,
        ),
        input_block(
            FIELD_CLOSES_AT, tr("surveys.create.closes_label"), closes, hint=tr("surveys.create.closes_hint")
        ),
        input_block(FIELD_AUDIENCE, tr("surveys.create.audience_label"), _audience_element(choices, tr)),
        input_block(
            FIELD_MIN_GROUP,
            tr("surveys.create.min_group_label"),
            min_group,
            hint=tr("surveys.create.min_group_hint", min=MIN_GROUP_FLOOR),
        ),
        to_dicts([context(tr("surveys.create.questions_intro", max=QUESTIONS_MAX))])[0],
    ]
    for slot in QUESTION_SLOTS:
        blocks.append(to_dicts([divider()])[0])
        blocks.extend(_question_group(slot, tr))
    return _modal(
        VIEW_CREATE,
        tr("surveys.create.title"),
        blocks,
        tr,
        submit=_plain(tr("surveys.create.submit"), 24),
        private_metadata=metadata,
    )


def _epoch(value: Any) -> datetime | None:
    """A datetimepicker's epoch seconds as an instant; anything else (missing, forged) as None."""
    if isinstance(value, int | str) and str(value).isdigit():
        try:
            return datetime.fromtimestamp(int(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def draft_from_values(values: dict[str, Any]) -> SurveyDraft:
    """The create modal's state (`bot.forms.state_values`) as a `SurveyDraft`; a question group with neither
    a question nor choices is not asked. `create_survey` validates everything."""
    questions: list[QuestionDraft] = []
    for slot in QUESTION_SLOTS:
        prompt = str(values.get(question_field(slot, "prompt")) or "")
        raw_choices = str(values.get(question_field(slot, "choices")) or "")
        if not prompt.strip() and not raw_choices.strip() and slot != 1:
            continue
        questions.append(
            QuestionDraft(
                kind=str(values.get(question_field(slot, "kind")) or ""),
                prompt=prompt,
                choices=tuple(line for line in raw_choices.splitlines() if line.strip()),
                slot=slot,
            )
        )
    return SurveyDraft(
        title=str(values.get(FIELD_TITLE) or ""),
        intro=str(values.get(FIELD_INTRO) or ""),
        closes_at=_epoch(values.get(FIELD_CLOSES_AT)),
        segment=segment_from_value(values.get(FIELD_AUDIENCE)),
        min_group=values.get(FIELD_MIN_GROUP),
        questions=questions,
    )


def change_modal(survey: Survey, tr: Translator) -> dict[str, Any]:
    """HR writes what changed because of a survey ("you said, we did"), published once in the digest."""
    from models.survey import CHANGE_MAX

    return _modal(
        VIEW_CHANGE,
        tr("surveys.change.title"),
        [
            to_dicts([section(tr("surveys.change.intro", title=escape(survey.title)))])[0],
            input_block(
                FIELD_CHANGE_NOTE,
                tr("surveys.change.label"),
                _text_element(FIELD_CHANGE_NOTE, max_length=CHANGE_MAX, multiline=True),
                hint=tr("surveys.change.hint"),
            ),
        ],
        tr,
        submit=_plain(tr("common.save"), 24),
        private_metadata=json.dumps({"survey_id": survey.id}),
    )


# ------------------------------------------------------------------------------------------- members


def anonymity_note(survey: Survey, tr: Translator) -> str:
    return tr("surveys.anonymity", min=survey.min_group)


def invitation_dm(survey: Survey, tr: Translator, *, reminder: bool = False) -> dict[str, Any]:
    """The DM asking a member to answer (also the reminder, with `reminder=True`)."""
    key = "reminder" if reminder else "invite"
    blocks: list[BlockDict] = [
        section(tr(f"surveys.{key}.body", title=escape(survey.title), closes=closes_label(survey))),
    ]
    if survey.intro and not reminder:
        blocks.append(section(escape(survey.intro)))
    blocks.append(context(anonymity_note(survey, tr)))
    blocks.append(
        actions(
            button(tr("surveys.button.answer"), ACTION_ANSWER, value=str(survey.id), style="primary"),
            block_id=f"survey_{survey.id}",
        )
    )
    return {"text": tr(f"surveys.{key}.text", title=escape(survey.title)), "blocks": to_dicts(blocks)}


def _answer_element(question: SurveyQuestion, tr: Translator) -> dict[str, Any]:
    action_id = f"{answer_field(int(question.id or 0))}_value"
    if question.kind == TEXT:
        return _text_element(action_id, max_length=TEXT_ANSWER_MAX, multiline=True)
    if question.kind == SCALE:
        options = [
            _option(tr(f"surveys.scale.p{point}"), str(point)) for point in range(SCALE_MIN, SCALE_MAX + 1)
        ]
    else:
        options = [_option(choice, str(index)) for index, choice in enumerate(question.choices)]
    return {"type": "radio_buttons", "action_id": action_id, "options": options}


def answer_modal(survey: Survey, questions: Sequence[SurveyQuestion], tr: Translator) -> dict[str, Any]:
    """The answer modal: one input per question (block_id `answer_<question id>`); free text is optional."""
    blocks: list[dict[str, Any]] = []
    if survey.intro:
        blocks.append(to_dicts([section(escape(survey.intro))])[0])
    blocks.append(to_dicts([context(anonymity_note(survey, tr))])[0])
    for question in questions:
        assert question.id is not None
        blocks.append(
            input_block(
                answer_field(question.id),
                f"{question.position}. {question.prompt}",
                _answer_element(question, tr),
                optional=not question.required,
            )
        )
    return _modal(
        VIEW_ANSWER,
        survey.title,
        blocks,
        tr,
        submit=_plain(tr("surveys.answer.submit"), 24),
        private_metadata=json.dumps({"survey_id": survey.id}),
    )


def answers_from_values(values: dict[str, Any]) -> dict[int, Any]:
    """The answer modal's state (`bot.forms.state_values`) as {question id: value} for `submit_answers`."""
    prefix = answer_field(0)[:-1]
    out: dict[int, Any] = {}
    for block_id, value in values.items():
        if block_id.startswith(prefix) and block_id[len(prefix) :].isdigit():
            out[int(block_id[len(prefix) :])] = value
    return out


def thanks_modal(tr: Translator) -> dict[str, Any]:
    """What replaces the answer modal once saved (`response_action: update`)."""
    return {
        "type": "modal",
        "title": _plain(tr("surveys.answer.thanks_title"), 24),
        "close": _plain(tr("common.close"), 24),
        "blocks": to_dicts([section(tr("surveys.answer.thanks"))]),
    }


# ------------------------------------------------------------------------------------------- results


def bar(count: int, total: int, width: int = BAR_WIDTH) -> str:
    """A text bar: `████░░░░░░` for 4 of 10."""
    filled = round(width * count / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def _question_lines(question: QuestionResult, tr: Translator) -> list[BlockDict]:
    title = f"*{question.position}. {escape(question.prompt)}*"
    if question.kind == TEXT:
        if not question.texts:
            return [section(f"{title}\n{tr('surveys.results.no_text')}")]
        shown = question.texts[:TEXTS_SHOWN]
        quoted = "\n".join("> " + escape(truncate(t, 250)).replace("\n", " ") for t in shown)
        blocks: list[BlockDict] = [section(f"{title}\n{quoted}")]
        if len(question.texts) > len(shown):
            blocks.append(context(tr("surveys.results.more_text", count=len(question.texts) - len(shown))))
        return blocks
    total = question.answered
    lines = [
        tr(
            "surveys.results.option_line",
            bar=bar(option.count, total),
            count=option.count,
            percent=round(100 * option.count / total) if total else 0,
            label=escape(option.label),
        )
        for option in question.options
    ]
    if question.average is not None:
        lines.append(tr("surveys.results.average", average=f"{question.average:.1f}", max=SCALE_MAX))
    return [section(title + "\n" + "\n".join(lines))]


def results_message(results: SurveyResults, tr: Translator) -> dict[str, Any]:
    """HR's results: counts with text bars and the free text (shuffled, unnamed), or why there are none."""
    survey = results.survey
    blocks: list[BlockDict] = [header(survey.title)]
    if results.state == NOT_CLOSED:
        blocks.append(section(tr("surveys.results.not_closed", closes=closes_label(survey))))
    elif not results.ready:
        blocks.append(section(tr("surveys.results.too_few", min=results.min_group)))
    else:
        blocks.append(
            context(tr("surveys.results.summary", responses=results.responses, min=results.min_group))
        )
        for question in results.questions:
            blocks.extend(_question_lines(question, tr))
        blocks.append(
            actions(
                button(tr("surveys.button.export"), ACTION_EXPORT, value=str(survey.id)),
                button(tr("surveys.button.chart"), ACTION_CHART, value=str(survey.id)),
                button(tr("surveys.button.change"), ACTION_CHANGE, value=str(survey.id)),
                block_id=f"survey_results_{survey.id}",
            )
        )
    return {"text": tr("surveys.results.text", title=escape(survey.title)), "blocks": to_dicts(blocks[:50])}


def chart_series(results: SurveyResults) -> list[tuple[str, list[tuple[str, int]]]]:
    """(question, [(option, count)]) of the scale and choice questions, for `bot.charts.survey_chart`."""
    return [
        (f"{q.position}. {q.prompt}", [(o.label, o.count) for o in q.options])
        for q in results.questions
        if q.kind in (SCALE, CHOICE)
    ]


def closed_notice(survey: Survey, tr: Translator, *, asked: int, answered: int) -> dict[str, Any]:
    """To the HR channel when a survey closes: participation only, and a button to the results."""
    enough = answered >= survey.min_group
    key = "surveys.closed.enough" if enough else "surveys.closed.too_few"
    blocks: list[BlockDict] = [
        section(tr(key, title=escape(survey.title), asked=asked, answered=answered, min=survey.min_group))
    ]
    if enough:
        blocks.append(
            actions(
                button(tr("surveys.button.results"), ACTION_RESULTS, value=str(survey.id), style="primary"),
                block_id=f"survey_{survey.id}",
            )
        )
    return {"text": tr("surveys.closed.text", title=escape(survey.title)), "blocks": to_dicts(blocks)}


# ------------------------------------------------------------------------------------------- Home


def home_member_blocks(surveys: Sequence[Survey], tr: Translator) -> list[dict[str, Any]]:
    """The member's Home: surveys waiting for their answer (nothing when there are none)."""
    if not surveys:
        return []
    blocks: list[BlockDict] = [header(tr("surveys.home.member_title"))]
    for survey in surveys[:5]:
        blocks.append(
            section(
                tr("surveys.home.member_line", title=escape(survey.title), closes=closes_label(survey)),
                block_id=f"survey_{survey.id}",
                accessory=button(
                    tr("surveys.button.answer"), ACTION_ANSWER, value=str(survey.id), style="primary"
                ),
            )
        )
    return to_dicts(blocks)


def home_hr_blocks(progress: Sequence[Progress], tr: Translator) -> list[dict[str, Any]]:
    """HR's Home: a "New survey" button and the latest surveys with participation and the next step."""
    blocks: list[BlockDict] = [
        header(tr("surveys.home.hr_title")),
        actions(button(tr("surveys.button.new"), ACTION_NEW, style="primary"), block_id="surveys_new"),
    ]
    if not progress:
        blocks.append(context(tr("surveys.home.hr_empty")))
    for item in progress[:8]:
        survey = item.survey
        status = tr(f"surveys.status.{survey.status}")
        line = tr(
            "surveys.home.hr_line",
            title=escape(survey.title),
            status=status,
            asked=item.asked,
            answered=item.answered,
            closes=closes_label(survey),
        )
        blocks.append(section(line))
        value = str(survey.id)
        buttons: list[Any] = []
        if survey.status == DRAFT:
            buttons.append(button(tr("surveys.button.open"), ACTION_OPEN, value=value, style="primary"))
        elif survey.status == OPEN:
            buttons.append(button(tr("surveys.button.close"), ACTION_CLOSE, value=value, style="danger"))
        elif survey.status == CLOSED:
            buttons.append(button(tr("surveys.button.results"), ACTION_RESULTS, value=value))
            buttons.append(button(tr("surveys.button.change"), ACTION_CHANGE, value=value))
        blocks.append(
            actions(*buttons, block_id=f"survey_hr_{survey.id}")
        )  # the member part uses survey_<id>
    return to_dicts(blocks)


def digest_line(survey: Survey, tr: Translator) -> str:
    """One "you said, we did" line of the weekly digest."""
    return tr(
        "surveys.digest.line", title=escape(survey.title), note=escape(truncate(survey.change_note, 300))
    )
