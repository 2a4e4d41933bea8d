"""Slack's documented Block Kit rules the fake Slack enforces, and one payload breaking each (issue 12).

The checker is `bot/slack_emulator/blockkit.py` (rule ids in `RULES`); slack_sdk's models are the second,
independent check (`bot/slack_emulator/sdk_check.py`). `tests/test_blockkit_rules.py` holds this table, the
checker and `CASES` together: every rule has a row here and a payload below that breaks exactly that rule.
Pages are on docs.slack.dev (found with the docs search); B = reference/block-kit/blocks/<page>,
E = reference/block-kit/block-elements/<page>, C = reference/block-kit/composition-objects/<page>.

| rule                        | surface         | documented limit                                     | source page |
|-----------------------------|-----------------|------------------------------------------------------|-------------|
| `blocks_per_surface`        | message / modal, home | 50 blocks in a message; 100 in a modal or Home tab | chat.postMessage (blocks), reference/views/modal-views, home-tab-views |
| `block_type_known`          | all             | only documented block types                          | B (index) |
| `block_id_unique`           | all             | block_id unique for each message / view              | B actions-block ... (block_id field) |
| `block_id_length`           | all             | block_id max 255 characters                          | B (block_id field of every block) |
| `action_id_unique`          | all             | action_id unique among the action_ids of its containing block | E button-element, select-menu-element ... (action_id field) |
| `action_id_length`          | all             | action_id max 255 characters                         | E (action_id field) |
| `text_object`               | all             | type plain_text or mrkdwn (plain_text where a field says so); text 1+ chars | C text-object |
| `text_length`               | all             | text max 3000 characters                             | C text-object |
| `section_content`           | all             | section needs text or fields                         | B section-block |
| `section_text_length`       | all             | section text max 3000 characters                     | B section-block |
| `section_fields`            | all             | max 10 fields, each max 2000 characters              | B section-block |
| `header_text_length`        | all             | header text plain_text, max 150 characters           | B header-block |
| `actions_elements`          | all             | 1 to 25 elements                                     | B actions-block |
| `context_elements`          | all             | 1 to 10 text or image elements                       | B context-block |
| `input_element`             | all             | exactly one element                                  | B input-block |
| `input_label_length`        | all             | label plain_text, max 2000 characters                | B input-block |
| `input_hint_length`         | all             | hint plain_text, max 2000 characters                 | B input-block |
| `image_alt_text`            | all             | alt_text required, max 2000 characters               | B image-block |
| `url_length`                | all             | image_url, button url, option url max 3000 characters | B image-block, E button-element, C option-object |
| `image_title_length`        | all             | title plain_text, max 2000 characters                | B image-block |
| `button_text_length`        | all             | button text plain_text, max 75 characters            | E button-element |
| `button_value_length`       | all             | button value max 2000 characters                     | E button-element |
| `button_style`              | all             | style is primary or danger                           | E button-element |
| `accessibility_label_length`| all             | accessibility_label max 75 characters                | E button-element |
| `placeholder_length`        | all             | placeholder plain_text, max 150 characters           | E select-menu-element, plain-text-input-element ... |
| `option_count`              | all             | select 100, checkboxes 10, radio buttons 10, overflow 5 options | E select-menu-element, checkboxes-element, radio-button-group-element, overflow-menu-element |
| `option_group_count`        | all             | max 100 option groups; group label plain_text max 75  | E select-menu-element, C option-group-object |
| `option_text_length`        | all             | option text max 75 (plain_text in selects/overflow)  | C option-object |
| `option_value_length`       | all             | option value max 150 characters                      | C option-object |
| `option_description_length` | all             | option description max 75 characters                 | C option-object |
| `initial_option_in_options` | all             | initial_option(s) exactly match options of the element | E select-menu-element, checkboxes-element, radio-button-group-element |
| `max_selected_items`        | all             | max_selected_items minimum 1                         | E multi-select-menu-element |
| `plain_text_input_length`   | all             | min_length 0..3000, max_length 1..3000, min <= max   | E plain-text-input-element |
| `confirm_lengths`           | all             | confirm title 100, text 300, confirm 30, deny 30     | C confirmation-dialog-object |
| `focus_on_load_once`        | modal, home     | only one element in a view with focus_on_load true   | E (focus_on_load field) |
| `message_text_length`       | message         | text max 40000 characters                            | chat.postMessage (text argument) |
| `view_title`                | modal           | title plain_text, max 24 characters                  | reference/views/modal-views |
| `view_submit_close`         | modal           | submit / close plain_text, max 24 characters         | reference/views/modal-views |
| `view_submit_required`      | modal           | submit required when an input block is in blocks     | reference/views/modal-views |
| `view_private_metadata`     | modal, home     | private_metadata max 3000 characters                 | reference/views/modal-views, home-tab-views |
| `view_callback_id`          | modal, home     | callback_id max 255 characters                       | reference/views/modal-views |
| `view_external_id`          | modal, home     | external_id max 255 characters                       | views.open (usage info) |
| external_id uniqueness      | modal, home     | external_id unique for all views on a team: views.open answers duplicate_external_id | views.open; enforced by FakeSlack |
| `slack_sdk` (second check)  | all             | slack_sdk `Block.parse(...).to_dict()` / `View(...).to_dict()` validators | slack_sdk.models |

A refused message answers `invalid_blocks`; a refused view `invalid_arguments`; both list one
`[ERROR] ... [json-pointer:/...]` line per problem in `response_metadata.messages`.
"""

from __future__ import annotations

from typing import Any

from bot.slack_emulator.blockkit import Kind

Payload = tuple[Kind, list[dict[str, Any]], dict[str, Any] | None, str | None]


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def button(action_id: str = "go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain("Go"), "action_id": action_id, **extra}


def option(value: str, text: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"text": plain(text if text is not None else value), "value": value, **extra}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def text_input(**extra: Any) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": "value", **extra}


def input_block(block_id: str = "in", element: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain("Label"),
        "element": element if element is not None else text_input(),
        **extra,
    }


def modal(blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "title": plain("Title"),
        "blocks": blocks or [{"type": "divider"}],
    }
    view.update(extra)
    return view


def message(*blocks: dict[str, Any], text: str | None = None) -> Payload:
    return ("message", list(blocks), None, text)


def a_modal(**extra: Any) -> Payload:
    view = modal(**extra)
    return ("modal", view["blocks"], view, None)


def select(**extra: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "options": [option("a")], **extra}


LONG_URL = "https://example.com/" + "x" * 3000

# rule id -> a payload that breaks exactly that rule (and nothing else).
CASES: dict[str, Payload] = {
    "blocks_per_surface": message(*[{"type": "divider"}] * 51),
    "block_type_known": message({"type": "nonsense"}),
    "block_id_unique": message({"type": "divider", "block_id": "x"}, {"type": "divider", "block_id": "x"}),
    "block_id_length": message({"type": "divider", "block_id": "x" * 256}),
    "action_id_unique": message(actions(button("export", value="a"), button("export", value="b"))),
    "action_id_length": message(actions(button("a" * 256))),
    "text_object": message({"type": "section", "text": {"type": "html", "text": "<b>x</b>"}}),
    "text_length": message({"type": "context", "elements": [mrkdwn("x" * 3001)]}),
    "section_content": message({"type": "section"}),
    "section_text_length": message({"type": "section", "text": mrkdwn("x" * 3001)}),
    "section_fields": message({"type": "section", "fields": [mrkdwn("f")] * 11}),
    "header_text_length": message({"type": "header", "text": plain("x" * 151)}),
    "actions_elements": message(actions(*[button(f"b{i}") for i in range(26)])),
    "context_elements": message({"type": "context", "elements": [mrkdwn("x")] * 11}),
    "input_element": message({"type": "input", "label": plain("Label")}),
    "input_label_length": message(input_block(label=plain("x" * 2001))),
    "input_hint_length": message(input_block(hint=plain("x" * 2001))),
    "image_alt_text": message({"type": "image", "image_url": "https://example.com/a.png"}),
    "url_length": message(actions(button(url=LONG_URL))),
    "image_title_length": message(
        {
            "type": "image",
            "image_url": "https://example.com/a.png",
            "alt_text": "a",
            "title": plain("x" * 2001),
        }
    ),
    "button_text_length": message(actions(button(text=plain("x" * 76)))),
    "button_value_length": message(actions(button(value="x" * 2001))),
    "button_style": message(actions(button(style="fancy"))),
    "accessibility_label_length": message(actions(button(accessibility_label="x" * 76))),
    "placeholder_length": message(actions(select(placeholder=plain("x" * 151)))),
    "option_count": message(
        input_block(
            element={"type": "checkboxes", "action_id": "c", "options": [option(f"o{i}") for i in range(11)]}
        )
    ),
    "option_group_count": message(
        actions(
            {
                "type": "static_select",
                "action_id": "pick",
                "option_groups": [{"label": plain("g"), "options": [option(f"o{i}")]} for i in range(101)],
            }
        )
    ),
    "option_text_length": message(actions(select(options=[option("a", "x" * 76)]))),
    "option_value_length": message(actions(select(options=[option("v" * 151, "v")]))),
    "option_description_length": message(actions(select(options=[option("a", description=plain("x" * 76))]))),
    "initial_option_in_options": message(actions(select(initial_option=option("b")))),
    "max_selected_items": message(
        input_block(
            element={
                "type": "multi_static_select",
                "action_id": "m",
                "options": [option("a")],
                "max_selected_items": 0,
            }
        )
    ),
    "plain_text_input_length": message(input_block(element=text_input(max_length=3001))),
    "confirm_lengths": message(
        actions(
            button(
                confirm={
                    "title": plain("x" * 101),
                    "text": plain("Sure?"),
                    "confirm": plain("Yes"),
                    "deny": plain("No"),
                }
            )
        )
    ),
    "focus_on_load_once": a_modal(
        blocks=[
            input_block("a", text_input(focus_on_load=True)),
            input_block("b", text_input(focus_on_load=True)),
        ],
        submit=plain("Save"),
    ),
    "message_text_length": message({"type": "divider"}, text="x" * 40001),
    "view_title": a_modal(title=plain("x" * 25)),
    "view_submit_close": a_modal(close=plain("x" * 25)),
    "view_submit_required": a_modal(blocks=[input_block()]),
    "view_private_metadata": a_modal(private_metadata="x" * 3001),
    "view_callback_id": a_modal(callback_id="x" * 256),
    "view_external_id": a_modal(external_id="x" * 256),
}
