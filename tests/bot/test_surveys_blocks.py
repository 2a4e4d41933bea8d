"""Survey Block Kit: every surface is accepted by Slack's rules in both languages, modal state reads back into
the domain (and domain errors land on the right input), user text is escaped, and the results message shows no
figure when there is no result."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.blocks import surveys as ui
from bot.charts import PNG_SIGNATURE, survey_chart
from bot.forms import field_errors, input_block_ids
from bot.i18n import Translator
from bot.slack_emulator.blockkit import violations
from models import survey as sv
from models.actors import Actor
from models.db import Database
from models.errors import ValidationFailed
from models.member import Member
from models.timeutil import now

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
LANGUAGES = ("en", "ja")
HOSTILE = "<!channel> & <@U0HR00001>"


def _survey(**over: object) -> sv.Survey:
    values: dict[str, object] = {
        "id": 7,
        "title": f"Pulse {HOSTILE}",
        "intro": f"Intro {HOSTILE}",
        "closes_at": NOW + timedelta(days=7),
        "min_group": 5,
        "status": sv.OPEN,
        "created_by": "U0HR00001",
    }
    values.update(over)
    return sv.Survey(**values)


def _questions() -> list[sv.SurveyQuestion]:
    return [
        sv.SurveyQuestion(id=11, survey_id=7, position=1, kind=sv.SCALE, prompt="How happy are you?"),
        sv.SurveyQuestion(
            id=12, survey_id=7, position=2, kind=sv.CHOICE, prompt="Which?", choices=["A", "B", "C"]
        ),
        sv.SurveyQuestion(id=13, survey_id=7, position=3, kind=sv.TEXT, prompt="Anything else?"),
    ]


def _choices() -> sv.AudienceChoices:
    return sv.AudienceChoices(
        departments=["Sales", "x" * 200], left_years=[2024, 2023], events=[(3, "Meetup"), (4, "Study")]
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_surface_is_valid_block_kit(language: str) -> None:
    tr = Translator(language)
    survey = _survey()
    create = ui.create_modal(tr, choices=_choices(), now=NOW)
    assert violations("modal", create["blocks"], create) == []
    answer = ui.answer_modal(survey, _questions(), tr)
    assert violations("modal", answer["blocks"], answer) == []
    change = ui.change_modal(_survey(status=sv.CLOSED), tr)
    assert violations("modal", change["blocks"], change) == []
    thanks = ui.thanks_modal(tr)
    assert violations("modal", thanks["blocks"], thanks) == []
    for message in (
        ui.invitation_dm(survey, tr),
        ui.invitation_dm(survey, tr, reminder=True),
        ui.results_message(_ready_results(), tr),
        ui.results_message(sv.SurveyResults(survey, sv.TOO_FEW, 5), tr),
        ui.closed_notice(survey, tr, asked=10, answered=6),
    ):
        assert violations("message", message["blocks"], text=message["text"]) == []
    progress = [
        sv.Progress(_survey(id=i, status=status), 10, 3)
        for i, status in enumerate((sv.DRAFT, sv.OPEN, sv.CLOSED), start=1)
    ]
    home = ui.home_member_blocks([survey], tr) + ui.home_hr_blocks(progress, tr)
    assert violations("home", home) == []


def test_the_create_modal_has_an_input_for_every_field_the_domain_reports() -> None:
    view = ui.create_modal(Translator("en"), choices=_choices(), now=NOW)
    ids = input_block_ids(view)
    expected = {"title", "intro", "closes_at", "audience", "min_group"} | {
        sv.question_field(slot, part) for slot in range(1, 6) for part in ("kind", "prompt", "choices")
    }
    assert ids == expected
    assert len(view["blocks"]) <= 100
    # A department too long for an option value is left out rather than cut (a cut value would match nobody).
    values = [o["value"] for g in view["blocks"][3]["element"]["option_groups"] for o in g["options"]]
    assert "department:Sales" in values and not any(len(v) > 150 for v in values)
    assert "attended_event:3" in values and "left_year:2024" in values


def test_create_modal_state_reads_back_into_a_survey(db: Database) -> None:
    values = {
        "title": "Pulse",
        "intro": "",
        "closes_at": int((now() + timedelta(days=5)).timestamp()),
        "audience": "department:Sales",
        "min_group": "3",
        "q1_kind": "scale",
        "q1_prompt": "How happy?",
        "q1_choices": "",
        "q2_kind": "choice",
        "q2_prompt": "Which?",
        "q2_choices": "Meetups\n\nStudy sessions\n",
        "q3_kind": None,
        "q3_prompt": "",
        "q3_choices": "",
        "q4_kind": "text",
        "q4_prompt": "Anything else?",
    }
    assert ui.draft_from_values({"closes_at": "9" * 40}).closes_at is None  # a forged epoch is no date
    draft = ui.draft_from_values(values)
    assert draft.segment == sv.Segment("department", "Sales")
    assert [q.slot for q in draft.questions] == [1, 2, 4]
    with db.session() as session:
        survey = sv.create_survey(session, actor=Actor("U0HR00001", is_hr=True), draft=draft)
        questions = sv.questions_of(session, survey_id=int(survey.id or 0))
        assert [(q.position, q.kind) for q in questions] == [(1, "scale"), (2, "choice"), (3, "text")]
        assert questions[1].choices == ["Meetups", "Study sessions"]


def test_domain_errors_land_on_the_inputs_of_the_create_modal(db: Database) -> None:
    values = {
        "title": "",
        "audience": "all",
        "min_group": "2",
        "q1_kind": "choice",
        "q1_prompt": "Pick",
        "q1_choices": "only one",
        "q3_prompt": "A question without a kind",
    }
    view = ui.create_modal(Translator("en"), choices=_choices(), now=NOW)
    with db.session() as session, pytest.raises(ValidationFailed) as caught:
        sv.create_survey(session, actor=Actor("U0HR00001", is_hr=True), draft=ui.draft_from_values(values))
    errors = field_errors(caught.value, Translator("en"), block_ids=input_block_ids(view))
    assert set(errors) == {"title", "closes_at", "min_group", "q1_choices", "q3_kind"}
    assert "at least 3" in errors["min_group"]


def test_answer_modal_maps_each_input_to_its_question() -> None:
    view = ui.answer_modal(_survey(), _questions(), Translator("en"))
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == ["answer_11", "answer_12", "answer_13"]
    assert [b["optional"] for b in inputs] == [False, False, True]
    assert [o["value"] for o in inputs[0]["element"]["options"]] == ["1", "2", "3", "4", "5"]
    assert [o["text"]["text"] for o in inputs[1]["element"]["options"]] == ["A", "B", "C"]
    action_ids = [b["element"]["action_id"] for b in inputs]
    assert len(set(action_ids)) == 3
    assert json.loads(view["private_metadata"]) == {"survey_id": 7}
    state = {"answer_11": "4", "answer_12": "2", "answer_13": "Fine", "unrelated": "x"}
    assert ui.answers_from_values(state) == {11: "4", 12: "2", 13: "Fine"}


def _ready_results() -> sv.SurveyResults:
    survey = _survey(status=sv.CLOSED)
    return sv.SurveyResults(
        survey,
        sv.READY,
        5,
        6,
        [
            sv.QuestionResult(
                11,
                1,
                sv.SCALE,
                "How happy are you?",
                6,
                [sv.OptionCount(str(p), c) for p, c in zip(range(1, 6), (0, 1, 1, 3, 1), strict=True)],
                average=3.67,
            ),
            sv.QuestionResult(
                12, 2, sv.CHOICE, "Which?", 6, [sv.OptionCount("A", 6), sv.OptionCount("B <b>", 0)]
            ),
            sv.QuestionResult(13, 3, sv.TEXT, "Anything else?", 2, texts=[HOSTILE, "More events"]),
        ],
    )


def test_results_show_bars_and_escaped_text() -> None:
    message = ui.results_message(_ready_results(), Translator("en"))
    text = json.dumps(message["blocks"])
    assert "`\\u2588\\u2588\\u2588\\u2588\\u2588\\u2591\\u2591\\u2591\\u2591\\u2591` 3 (50%) 4" in text
    assert "Average: *3.7* / 5" in text
    assert "`\\u2588\\u2588\\u2588\\u2588\\u2588\\u2588\\u2588\\u2588\\u2588\\u2588` 6 (100%) A" in text
    assert "B &lt;b&gt;" in text
    # mrkdwn is escaped; the header is plain text, which Slack never turns into a mention.
    mrkdwn = json.dumps([b for b in message["blocks"] if b["type"] != "header"])
    assert "&lt;!channel&gt; &amp; &lt;@U0HR00001&gt;" in mrkdwn and "<!channel>" not in mrkdwn
    assert "surveys_export" in text and "surveys_chart" in text


@pytest.mark.parametrize("state", [sv.TOO_FEW, sv.NOT_CLOSED])
@pytest.mark.parametrize("language", LANGUAGES)
def test_no_result_means_no_figure_in_the_message(state: str, language: str) -> None:
    survey = _survey(min_group=7, title="Pulse", intro="")
    message = ui.results_message(sv.SurveyResults(survey, state, 7), Translator(language))
    rendered = json.dumps(message, ensure_ascii=False)
    assert "surveys_export" not in rendered and "%" not in rendered
    # The only numbers are the threshold and the closing date, never a count.
    numbers = set(re.findall(r"\d+", rendered)) - {"7", "2026", "12", "08", "01", "00"}
    numbers -= {str(int(_survey().closes_at.timestamp()))}
    assert numbers == set()


def test_the_chart_is_a_png_of_the_scale_and_choice_questions() -> None:
    series = ui.chart_series(_ready_results())
    assert [name for name, _ in series] == ["1. How happy are you?", "2. Which?"]
    assert survey_chart(series, title="Pulse").startswith(PNG_SIGNATURE)
    assert survey_chart([], title="Empty").startswith(PNG_SIGNATURE)


def test_audience_choices_come_from_members(db: Database) -> None:
    with db.session() as session:
        session.add(
            Member(slack_user_id="U0A", former_department="Sales", left_year=2022, consented_at=now())
        )
        session.add(
            Member(slack_user_id="U0B", former_department="sales", left_year=2022, consented_at=now())
        )
        session.add(Member(slack_user_id="U0C", former_department="Secret", consented_at=None))
    with db.session() as session:
        choices = sv.audience_choices(session)
    assert choices.departments == ["Sales"] and choices.left_years == [2022]
