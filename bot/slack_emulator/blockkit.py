"""Block Kit rules that Slack documents, as a pure checker (rule table: ``tests/blockkit_limits.py``).

Slack answers ``invalid_blocks`` / ``invalid_arguments`` for payloads that break these; checking them in
tests catches payloads that would only fail in production (for example a long alumni name pushing a button
label past 75 chars, or two buttons of one block sharing an ``action_id``). Every rule has an id
(``RULES``); each violation names its rule so a test (and the audit tally) can tell which one fired.

Sources (docs.slack.dev, found with the docs search): reference/block-kit/blocks/* (one page per block),
reference/block-kit/block-elements/* (one page per element), reference/block-kit/composition-objects/*
(text, option, option group, confirm), reference/views/modal-views and home-tab-views, and the
views.open / chat.postMessage method pages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["message", "modal", "home"]

KNOWN_BLOCK_TYPES = frozenset(
    {"section", "divider", "image", "actions", "context", "input", "file", "header", "video", "rich_text"}
)
MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}
MAX_MESSAGE_TEXT = 40000
MAX_ID = 255
MAX_URL = 3000

# rule id -> what it checks (the table with limits and source pages is tests/blockkit_limits.py).
RULES: dict[str, str] = {
    "blocks_per_surface": "at most 50 blocks in a message, 100 in a modal or Home tab",
    "block_type_known": "only documented block types",
    "block_id_unique": "block_id unique within one message or view",
    "block_id_length": "block_id at most 255 characters",
    "action_id_unique": "action_id unique among the elements of its containing block",
    "action_id_length": "action_id at most 255 characters",
    "text_object": "text object: type plain_text/mrkdwn (plain_text where required), non-empty text",
    "text_length": "text object at most 3000 characters unless the field says less",
    "section_content": "section needs text or fields",
    "section_text_length": "section text at most 3000 characters",
    "section_fields": "section at most 10 fields, each at most 2000 characters",
    "header_text_length": "header text at most 150 characters",
    "actions_elements": "actions block holds 1 to 25 elements",
    "context_elements": "context block holds 1 to 10 text or image elements",
    "input_element": "input block has exactly one element",
    "input_label_length": "input label at most 2000 characters",
    "input_hint_length": "input hint at most 2000 characters",
    "image_alt_text": "image alt_text required, at most 2000 characters",
    "url_length": "every URL (button, image, option) at most 3000 characters",
    "image_title_length": "image title at most 2000 characters",
    "button_text_length": "button text at most 75 characters",
    "button_value_length": "button value at most 2000 characters",
    "button_style": "button style is primary or danger",
    "accessibility_label_length": "button accessibility_label at most 75 characters",
    "placeholder_length": "placeholder at most 150 characters",
    "option_count": "options: select 100, checkboxes 10, radio buttons 10, overflow 5",
    "option_group_count": "at most 100 option groups, each with a label of at most 75 characters",
    "option_text_length": "option text at most 75 characters (plain_text in selects and overflow)",
    "option_value_length": "option value at most 150 characters",
    "option_description_length": "option description at most 75 characters",
    "initial_option_in_options": "initial_option(s) exactly match options of the element",
    "max_selected_items": "max_selected_items at least 1",
    "plain_text_input_length": "plain_text_input min_length/max_length within 0..3000, min <= max",
    "confirm_lengths": "confirm dialog: title 100, text 300, confirm 30, deny 30 characters",
    "focus_on_load_once": "at most one element per view with focus_on_load",
    "message_text_length": "message text at most 40000 characters",
    "view_title": "modal title required, plain_text, at most 24 characters",
    "view_submit_close": "modal submit/close plain_text at most 24 characters",
    "view_submit_required": "modal with an input block needs submit",
    "view_private_metadata": "private_metadata at most 3000 characters",
    "view_callback_id": "callback_id at most 255 characters",
    "view_external_id": "external_id at most 255 characters",
}

# Option-count limits per element type (select menu, checkboxes, radio buttons, overflow menu pages).
_MAX_OPTIONS: dict[str, int] = {
    "static_select": 100,
    "multi_static_select": 100,
    "overflow": 5,
    "checkboxes": 10,
    "radio_buttons": 10,
}
# Options that may use mrkdwn text (checkboxes, radio buttons); all others are plain_text only.
_MRKDWN_OPTIONS = frozenset({"checkboxes", "radio_buttons"})
_SINGLE_INITIAL = frozenset({"static_select", "radio_buttons"})
_MULTI_INITIAL = frozenset({"multi_static_select", "checkboxes"})
_MULTI_SELECTS = frozenset(
    {
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
_RULE_SUFFIX = re.compile(r"\[([a-z_]+)\]$")


@dataclass(frozen=True)
class Violation:
    """One broken rule at one place in the payload."""

    rule: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.rule}]"


def rule_of(problem: str) -> str | None:
    """The rule id at the end of a violation string (``...: message [rule]``), if any."""
    match = _RULE_SUFFIX.search(problem)
    return match.group(1) if match else None


class _Checker:
    """Accumulates violations with a path prefix."""

    def __init__(self) -> None:
        self.errors: list[Violation] = []
        self.focus: list[str] = []

    def add(self, rule: str, path: str, message: str) -> None:
        self.errors.append(Violation(rule, path, message))

    def max_len(self, rule: str, path: str, value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(rule, path, f"length {len(value)} exceeds {limit}")

    def text_obj(
        self,
        path: str,
        obj: Any,
        limit: int | None,
        *,
        rule: str = "text_length",
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        """Checks a composition text object: known type, non-empty text, length limit of its field."""
        if obj is None:
            if required:
                self.add("text_object", path, "text object is required")
            return
        if not isinstance(obj, Mapping):
            self.add("text_object", path, "text object must be an object")
            return
        kind = obj.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.add("text_object", path, f"text type must be {' or '.join(allowed)}, got {kind!r}")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.add("text_object", path, "text must be a non-empty string")
        else:
            # The text object page: 1 to 3000 characters; many fields document a smaller limit.
            self.max_len(rule, f"{path}.text", text, limit if limit is not None else 3000)

    def confirm(self, path: str, obj: Any) -> None:
        if not isinstance(obj, Mapping):
            self.add("confirm_lengths", path, "confirm must be an object")
            return
        for name, limit, plain in (("title", 100, True), ("text", 300, False)):
            self.text_obj(f"{path}.{name}", obj.get(name), limit, rule="confirm_lengths", plain_only=plain)
        for name in ("confirm", "deny"):
            self.text_obj(f"{path}.{name}", obj.get(name), 30, rule="confirm_lengths", plain_only=True)

    def element(self, path: str, el: Any) -> None:
        """Checks an interactive element (button, select, input, ...)."""
        if not isinstance(el, Mapping):
            self.add("text_object", path, "element must be an object")
            return
        etype = el.get("type")
        if "action_id" in el:
            self.max_len("action_id_length", f"{path}.action_id", el["action_id"], MAX_ID)
        if "placeholder" in el:
            self.text_obj(
                f"{path}.placeholder", el["placeholder"], 150, rule="placeholder_length", plain_only=True
            )
        if "confirm" in el:
            self.confirm(f"{path}.confirm", el["confirm"])
        if el.get("focus_on_load") is True:
            self.focus.append(path)
        if etype == "button":
            self.text_obj(f"{path}.text", el.get("text"), 75, rule="button_text_length", plain_only=True)
            self.max_len("button_value_length", f"{path}.value", el.get("value"), 2000)
            self.max_len("url_length", f"{path}.url", el.get("url"), MAX_URL)
            self.max_len(
                "accessibility_label_length", f"{path}.accessibility_label", el.get("accessibility_label"), 75
            )
            if "style" in el and el["style"] not in ("primary", "danger"):
                self.add("button_style", f"{path}.style", f"{el['style']!r} is not primary or danger")
        elif etype == "plain_text_input":
            self.text_input(path, el)
        if etype in _MULTI_SELECTS and "max_selected_items" in el:
            items = el["max_selected_items"]
            if not isinstance(items, int) or isinstance(items, bool) or items < 1:
                self.add("max_selected_items", f"{path}.max_selected_items", f"{items!r} is not >= 1")
        if etype in _MAX_OPTIONS:
            self.options(path, etype, el)

    def text_input(self, path: str, el: Mapping[str, Any]) -> None:
        low, high = el.get("min_length"), el.get("max_length")
        for name, value in (("min_length", low), ("max_length", high)):
            if value is not None and (not isinstance(value, int) or not 0 <= value <= 3000):
                self.add("plain_text_input_length", f"{path}.{name}", f"{value!r} is not within 0..3000")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            self.add("plain_text_input_length", f"{path}.min_length", f"{low} exceeds max_length {high}")

    def options(self, path: str, etype: str, el: Mapping[str, Any]) -> None:
        limit = _MAX_OPTIONS[etype]
        options = el.get("options")
        groups = el.get("option_groups")
        offered: list[Any] = []
        plain = etype not in _MRKDWN_OPTIONS
        if isinstance(options, Sequence) and not isinstance(options, str):
            if len(options) > limit:
                self.add("option_count", f"{path}.options", f"{len(options)} options exceed {limit}")
            self.option_list(f"{path}.options", options, plain_only=plain, url_allowed=etype == "overflow")
            offered += list(options)
        if isinstance(groups, Sequence) and not isinstance(groups, str):
            if len(groups) > 100:
                self.add("option_group_count", f"{path}.option_groups", f"{len(groups)} groups exceed 100")
            for gi, group in enumerate(groups):
                if not isinstance(group, Mapping):
                    continue
                gpath = f"{path}.option_groups[{gi}]"
                self.text_obj(
                    f"{gpath}.label", group.get("label"), 75, rule="option_group_count", plain_only=True
                )
                group_options = group.get("options") or []
                if len(group_options) > 100:
                    self.add("option_count", f"{gpath}.options", f"{len(group_options)} options exceed 100")
                self.option_list(f"{gpath}.options", group_options, plain_only=True, url_allowed=False)
                offered += list(group_options)
        self.initial_options(path, etype, el, offered)

    def initial_options(self, path: str, etype: str, el: Mapping[str, Any], offered: list[Any]) -> None:
        """initial_option(s) must exactly match options of the element (select menu / checkboxes pages)."""
        keys = {_option_key(o) for o in offered}
        initial: list[tuple[str, Any]] = []
        if etype in _SINGLE_INITIAL and el.get("initial_option") is not None:
            initial.append((f"{path}.initial_option", el["initial_option"]))
        if etype in _MULTI_INITIAL and isinstance(el.get("initial_options"), Sequence):
            initial += [(f"{path}.initial_options[{i}]", o) for i, o in enumerate(el["initial_options"])]
        for ipath, option in initial:
            if _option_key(option) not in keys:
                self.add("initial_option_in_options", ipath, "does not exactly match any option")

    def option_list(self, path: str, options: Sequence[Any], *, plain_only: bool, url_allowed: bool) -> None:
        for oi, opt in enumerate(options):
            opath = f"{path}[{oi}]"
            if not isinstance(opt, Mapping):
                self.add("text_object", opath, "option must be an object")
                continue
            self.text_obj(
                f"{opath}.text", opt.get("text"), 75, rule="option_text_length", plain_only=plain_only
            )
            self.max_len("option_value_length", f"{opath}.value", opt.get("value"), 150)
            if "description" in opt:
                self.text_obj(
                    f"{opath}.description",
                    opt["description"],
                    75,
                    rule="option_description_length",
                    plain_only=plain_only,
                )
            if url_allowed:
                self.max_len("url_length", f"{opath}.url", opt.get("url"), MAX_URL)

    def block(self, path: str, block: Any) -> None:
        """Checks one layout block."""
        if not isinstance(block, Mapping):
            self.add("block_type_known", path, "block must be an object")
            return
        btype = block.get("type")
        if btype not in KNOWN_BLOCK_TYPES:
            self.add("block_type_known", path, f"unknown block type {btype!r}")
            return
        if "block_id" in block:
            self.max_len("block_id_length", f"{path}.block_id", block["block_id"], MAX_ID)
        if btype == "section":
            self.section(path, block)
        elif btype == "header":
            self.text_obj(f"{path}.text", block.get("text"), 150, rule="header_text_length", plain_only=True)
        elif btype == "context":
            self.context(path, block)
        elif btype == "actions":
            elements = block.get("elements")
            if not isinstance(elements, Sequence) or not elements:
                self.add("actions_elements", f"{path}.elements", "must contain at least 1 element")
                return
            if len(elements) > 25:
                self.add("actions_elements", f"{path}.elements", f"{len(elements)} elements exceed 25")
            for ei, el in enumerate(elements):
                self.element(f"{path}.elements[{ei}]", el)
            self.unique_action_ids(path, elements)
        elif btype == "input":
            self.text_obj(
                f"{path}.label", block.get("label"), 2000, rule="input_label_length", plain_only=True
            )
            if "hint" in block:
                self.text_obj(f"{path}.hint", block["hint"], 2000, rule="input_hint_length", plain_only=True)
            if not isinstance(block.get("element"), Mapping):
                self.add("input_element", f"{path}.element", "input block requires one element")
            else:
                self.element(f"{path}.element", block["element"])
        elif btype == "image":
            alt = block.get("alt_text")
            if not isinstance(alt, str) or not alt:
                self.add("image_alt_text", f"{path}.alt_text", "alt_text is required")
            self.max_len("image_alt_text", f"{path}.alt_text", alt, 2000)
            self.max_len("url_length", f"{path}.image_url", block.get("image_url"), MAX_URL)
            if "title" in block:
                self.text_obj(
                    f"{path}.title", block["title"], 2000, rule="image_title_length", plain_only=True
                )

    def context(self, path: str, block: Mapping[str, Any]) -> None:
        elements = block.get("elements")
        if not isinstance(elements, Sequence) or not elements:
            self.add("context_elements", f"{path}.elements", "must contain at least 1 element")
            return
        if len(elements) > 10:
            self.add("context_elements", f"{path}.elements", f"{len(elements)} elements exceed 10")
        for ei, el in enumerate(elements):
            if isinstance(el, Mapping) and el.get("type") in ("plain_text", "mrkdwn"):
                self.text_obj(f"{path}.elements[{ei}]", el, None)
            elif isinstance(el, Mapping) and el.get("type") == "image":
                self.max_len("url_length", f"{path}.elements[{ei}].image_url", el.get("image_url"), MAX_URL)
            else:
                self.add(
                    "context_elements",
                    f"{path}.elements[{ei}]",
                    "context elements are text objects or images",
                )

    def unique_action_ids(self, path: str, elements: Sequence[Any]) -> None:
        """action_id "should be unique among all other action_ids in the containing block" (element pages)."""
        seen: dict[str, int] = {}
        for ei, el in enumerate(elements):
            action_id = el.get("action_id") if isinstance(el, Mapping) else None
            if not isinstance(action_id, str):
                continue
            if action_id in seen:
                self.add(
                    "action_id_unique",
                    f"{path}.elements[{ei}].action_id",
                    f"duplicate action_id {action_id!r} in this block (also elements[{seen[action_id]}])",
                )
            else:
                seen[action_id] = ei

    def section(self, path: str, block: Mapping[str, Any]) -> None:
        text = block.get("text")
        fields = block.get("fields")
        if text is None and not fields:
            self.add("section_content", path, "section requires text or fields")
        if text is not None:
            self.text_obj(f"{path}.text", text, 3000, rule="section_text_length")
        if fields is not None:
            if not isinstance(fields, Sequence) or isinstance(fields, str):
                self.add("section_fields", f"{path}.fields", "fields must be a list")
            else:
                if len(fields) > 10:
                    self.add("section_fields", f"{path}.fields", f"{len(fields)} fields exceed 10")
                for fi, item in enumerate(fields):
                    self.text_obj(f"{path}.fields[{fi}]", item, 2000, rule="section_fields")
        if "accessory" in block:
            self.element(f"{path}.accessory", block["accessory"])


def _option_key(option: Any) -> str:
    """What "exactly matches" compares: the option's value and text (type and string)."""
    if not isinstance(option, Mapping):
        return repr(option)
    text = option.get("text")
    text_key = (text.get("type"), text.get("text")) if isinstance(text, Mapping) else text
    return repr((option.get("value"), text_key))


def check(
    kind: Kind,
    blocks: Sequence[Any] | None,
    view: Mapping[str, Any] | None = None,
    *,
    text: str | None = None,
) -> list[Violation]:
    """Every documented rule broken by ``blocks`` (and the modal/home ``view`` envelope)."""
    c = _Checker()
    if blocks is None and view is not None:
        blocks = view.get("blocks")
    if blocks is None:
        blocks = []
    if isinstance(blocks, (str, bytes)) or not isinstance(blocks, Sequence):
        return [Violation("block_type_known", "blocks", "must be a list of block objects")]
    limit = MAX_BLOCKS[kind]
    if len(blocks) > limit:
        c.add("blocks_per_surface", "blocks", f"{len(blocks)} blocks exceed {limit} for a {kind}")
    seen: dict[str, int] = {}
    for i, block in enumerate(blocks):
        c.block(f"blocks[{i}]", block)
        block_id = block.get("block_id") if isinstance(block, Mapping) else None
        if isinstance(block_id, str):
            if block_id in seen:
                c.add(
                    "block_id_unique",
                    f"blocks[{i}].block_id",
                    f"duplicate block_id {block_id!r} (also blocks[{seen[block_id]}])",
                )
            else:
                seen[block_id] = i
    if kind == "message" and text is not None:
        c.max_len("message_text_length", "text", text, MAX_MESSAGE_TEXT)
    if view is not None:
        _check_view(c, kind, view, blocks)
        if len(c.focus) > 1:
            c.add("focus_on_load_once", c.focus[1], f"focus_on_load is already set on {c.focus[0]}")
    return c.errors


def violations(
    kind: Kind,
    blocks: Sequence[Any] | None,
    view: Mapping[str, Any] | None = None,
    *,
    text: str | None = None,
) -> list[str]:
    """``check`` as strings (``path: message [rule]``); an empty list means Slack would accept it."""
    return [str(v) for v in check(kind, blocks, view, text=text)]


def _check_view(c: _Checker, kind: Kind, view: Mapping[str, Any], blocks: Sequence[Any]) -> None:
    """Checks the modal/home envelope fields around the blocks (modal-views / home-tab-views pages)."""
    if kind == "modal":
        c.text_obj("view.title", view.get("title"), 24, rule="view_title", plain_only=True)
        for name in ("submit", "close"):
            c.text_obj(
                f"view.{name}",
                view.get(name),
                24,
                rule="view_submit_close",
                plain_only=True,
                required=False,
            )
        has_input = any(isinstance(b, Mapping) and b.get("type") == "input" for b in blocks)
        if has_input and view.get("submit") is None:
            c.add("view_submit_required", "view.submit", "submit is required when the view has input blocks")
    c.max_len("view_callback_id", "view.callback_id", view.get("callback_id"), MAX_ID)
    c.max_len("view_private_metadata", "view.private_metadata", view.get("private_metadata"), 3000)
    c.max_len("view_external_id", "view.external_id", view.get("external_id"), MAX_ID)
