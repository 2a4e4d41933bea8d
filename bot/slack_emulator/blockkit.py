"""Block Kit size and shape limits that Slack enforces, as a pure checker.

Slack answers ``invalid_blocks`` for these; checking them in tests catches payloads that would
only fail in production (for example a long alumni name pushing a button label past 75 chars).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

Kind = Literal["message", "modal", "home"]

KNOWN_BLOCK_TYPES = frozenset(
    {"section", "divider", "image", "actions", "context", "input", "file", "header", "video", "rich_text"}
)
MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}
MAX_MESSAGE_TEXT = 40000
MAX_ID = 255

# Option-count limits per element type; option text/value limits are shared by all of them.
_MAX_OPTIONS: dict[str, int] = {
    "static_select": 100,
    "multi_static_select": 100,
    "overflow": 5,
    "checkboxes": 10,
    "radio_buttons": 10,
}


class _Checker:
    """Accumulates human-readable violations with a path prefix."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def max_len(self, path: str, value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(path, f"length {len(value)} exceeds {limit}")

    def text_obj(
        self,
        path: str,
        obj: Any,
        limit: int | None,
        *,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        """Checks a composition text object: known type, non-empty text, length limit."""
        if obj is None:
            if required:
                self.add(path, "text object is required")
            return
        if not isinstance(obj, Mapping):
            self.add(path, "text object must be an object")
            return
        kind = obj.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.add(path, f"text type must be {' or '.join(allowed)}, got {kind!r}")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.add(path, "text must be a non-empty string")
        elif limit is not None:
            self.max_len(f"{path}.text", text, limit)

    def element(self, path: str, el: Any) -> None:
        """Checks an interactive element (button, select, input, ...)."""
        if not isinstance(el, Mapping):
            self.add(path, "element must be an object")
            return
        etype = el.get("type")
        if "action_id" in el:
            self.max_len(f"{path}.action_id", el["action_id"], MAX_ID)
        if "placeholder" in el:
            self.text_obj(f"{path}.placeholder", el["placeholder"], 150, plain_only=True)
        if etype == "button":
            self.text_obj(f"{path}.text", el.get("text"), 75, plain_only=True)
            self.max_len(f"{path}.value", el.get("value"), 2000)
            self.max_len(f"{path}.url", el.get("url"), 3000)
        elif etype == "plain_text_input":
            max_length = el.get("max_length")
            if isinstance(max_length, int) and max_length > 3000:
                self.add(f"{path}.max_length", f"{max_length} exceeds 3000")
        if etype in _MAX_OPTIONS:
            self.options(path, etype, el)

    def options(self, path: str, etype: str, el: Mapping[str, Any]) -> None:
        limit = _MAX_OPTIONS[etype]
        options = el.get("options")
        groups = el.get("option_groups")
        if isinstance(options, Sequence) and not isinstance(options, str):
            if len(options) > limit:
                self.add(f"{path}.options", f"{len(options)} options exceed {limit}")
            # Checkbox and radio options may use mrkdwn; select/overflow options must be plain_text.
            plain = etype not in ("checkboxes", "radio_buttons")
            self.option_list(f"{path}.options", options, plain_only=plain)
        if isinstance(groups, Sequence) and not isinstance(groups, str):
            if len(groups) > 100:
                self.add(f"{path}.option_groups", f"{len(groups)} groups exceed 100")
            for gi, group in enumerate(groups):
                if isinstance(group, Mapping):
                    gpath = f"{path}.option_groups[{gi}]"
                    self.text_obj(f"{gpath}.label", group.get("label"), 75, plain_only=True)
                    self.option_list(f"{gpath}.options", group.get("options") or [], plain_only=True)

    def option_list(self, path: str, options: Sequence[Any], *, plain_only: bool) -> None:
        for oi, opt in enumerate(options):
            opath = f"{path}[{oi}]"
            if not isinstance(opt, Mapping):
                self.add(opath, "option must be an object")
                continue
            self.text_obj(f"{opath}.text", opt.get("text"), 75, plain_only=plain_only)
            self.max_len(f"{opath}.value", opt.get("value"), 150)

    def block(self, path: str, block: Any) -> None:
        """Checks one layout block."""
        if not isinstance(block, Mapping):
            self.add(path, "block must be an object")
            return
        btype = block.get("type")
        if btype not in KNOWN_BLOCK_TYPES:
            self.add(path, f"unknown block type {btype!r}")
            return
        if "block_id" in block:
            self.max_len(f"{path}.block_id", block["block_id"], MAX_ID)
        if btype == "section":
            self.section(path, block)
        elif btype == "header":
            self.text_obj(f"{path}.text", block.get("text"), 150, plain_only=True)
        elif btype == "context":
            elements = block.get("elements")
            if not isinstance(elements, Sequence) or not elements:
                self.add(f"{path}.elements", "must contain at least 1 element")
                return
            if len(elements) > 10:
                self.add(f"{path}.elements", f"{len(elements)} elements exceed 10")
            for ei, el in enumerate(elements):
                if isinstance(el, Mapping) and el.get("type") in ("plain_text", "mrkdwn"):
                    self.text_obj(f"{path}.elements[{ei}]", el, None)
                elif not (isinstance(el, Mapping) and el.get("type") == "image"):
                    self.add(f"{path}.elements[{ei}]", "context elements must be text objects or images")
        elif btype == "actions":
            elements = block.get("elements")
            if not isinstance(elements, Sequence) or not elements:
                self.add(f"{path}.elements", "must contain at least 1 element")
                return
            if len(elements) > 25:
                self.add(f"{path}.elements", f"{len(elements)} elements exceed 25")
            for ei, el in enumerate(elements):
                self.element(f"{path}.elements[{ei}]", el)
        elif btype == "input":
            self.text_obj(f"{path}.label", block.get("label"), 2000, plain_only=True)
            if "hint" in block:
                self.text_obj(f"{path}.hint", block["hint"], 2000, plain_only=True)
            if "element" not in block:
                self.add(f"{path}.element", "input block requires an element")
            else:
                self.element(f"{path}.element", block["element"])
        elif btype == "image":
            alt = block.get("alt_text")
            if not isinstance(alt, str) or not alt:
                self.add(f"{path}.alt_text", "alt_text is required")
            self.max_len(f"{path}.alt_text", alt, 2000)
            self.max_len(f"{path}.image_url", block.get("image_url"), 3000)
            if "title" in block:
                self.text_obj(f"{path}.title", block["title"], 2000, plain_only=True)

    def section(self, path: str, block: Mapping[str, Any]) -> None:
        text = block.get("text")
        fields = block.get("fields")
        if text is None and not fields:
            self.add(path, "section requires text or fields")
        if text is not None:
            self.text_obj(f"{path}.text", text, 3000)
        if fields is not None:
            if not isinstance(fields, Sequence) or isinstance(fields, str):
                self.add(f"{path}.fields", "fields must be a list")
            else:
                if len(fields) > 10:
                    self.add(f"{path}.fields", f"{len(fields)} fields exceed 10")
                for fi, field in enumerate(fields):
                    self.text_obj(f"{path}.fields[{fi}]", field, 2000)
        if "accessory" in block:
            self.element(f"{path}.accessory", block["accessory"])


def violations(
    kind: Kind,
    blocks: Sequence[Any] | None,
    view: Mapping[str, Any] | None = None,
    *,
    text: str | None = None,
) -> list[str]:
    """Returns every Block Kit limit broken by ``blocks`` (and the modal/home ``view`` envelope).

    ``blocks`` defaults to ``view["blocks"]`` when None; ``text`` is a message's top-level text.
    An empty list means Slack would accept the payload as far as these limits go.
    """
    c = _Checker()
    if blocks is None and view is not None:
        blocks = view.get("blocks")
    if blocks is None:
        blocks = []
    if isinstance(blocks, (str, bytes)) or not isinstance(blocks, Sequence):
        return ["blocks: must be a list of block objects"]
    limit = MAX_BLOCKS[kind]
    if len(blocks) > limit:
        c.add("blocks", f"{len(blocks)} blocks exceed {limit} for a {kind}")
    seen: dict[str, int] = {}
    for i, block in enumerate(blocks):
        c.block(f"blocks[{i}]", block)
        block_id = block.get("block_id") if isinstance(block, Mapping) else None
        if isinstance(block_id, str):
            if block_id in seen:
                c.add(
                    f"blocks[{i}].block_id",
                    f"duplicate block_id {block_id!r} (also blocks[{seen[block_id]}])",
                )
            else:
                seen[block_id] = i
    if kind == "message" and text is not None:
        c.max_len("text", text, MAX_MESSAGE_TEXT)
    if view is not None:
        _check_view(c, kind, view, blocks)
    return c.errors


def _check_view(c: _Checker, kind: Kind, view: Mapping[str, Any], blocks: Sequence[Any]) -> None:
    """Checks the modal/home envelope fields around the blocks."""
    if kind == "modal":
        c.text_obj("view.title", view.get("title"), 24, plain_only=True)
        c.text_obj("view.submit", view.get("submit"), 24, plain_only=True, required=False)
        c.text_obj("view.close", view.get("close"), 24, plain_only=True, required=False)
        has_input = any(isinstance(b, Mapping) and b.get("type") == "input" for b in blocks)
        if has_input and view.get("submit") is None:
            c.add("view.submit", "submit is required when the view has input blocks")
    c.max_len("view.callback_id", view.get("callback_id"), MAX_ID)
    c.max_len("view.private_metadata", view.get("private_metadata"), 3000)
    c.max_len("view.external_id", view.get("external_id"), MAX_ID)
