"""The second, independent Block Kit check: slack_sdk's own models and their validators.

``bot.slack_emulator.blockkit`` encodes Slack's reference pages rule by rule; this module asks slack_sdk
(``Block.parse(...)`` / ``View(...)`` and ``to_dict()``, which runs the SDK's ``@JsonValidator`` checks)
the same question, so a rule one of them misses the other can still catch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack_emulator.blockkit import Violation

RULE = "slack_sdk"

# Block.parse logs a warning for an unknown block; the fake reports it as a violation instead.
logging.getLogger(Block.__module__).setLevel(logging.ERROR)

# What a malformed payload makes slack_sdk's constructors raise besides its own formation error.
_MODEL_ERRORS = (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError)


def sdk_check(blocks: Sequence[Any] | None, view: Mapping[str, Any] | None = None) -> list[Violation]:
    """Violations slack_sdk's models report for ``blocks`` and the ``view`` envelope (not its blocks)."""
    problems: list[Violation] = []
    if view is not None:
        envelope = {k: v for k, v in view.items() if k != "blocks"}
        if blocks is None:
            blocks = view.get("blocks")
        # Dividers stand in for the blocks so View validates their number; each block is checked below.
        count = len(blocks) if isinstance(blocks, Sequence) and not isinstance(blocks, (str, bytes)) else 0
        try:
            View(**envelope, blocks=[{"type": "divider"}] * count).to_dict()
        except _MODEL_ERRORS as exc:
            problems.append(Violation(RULE, "view", f"slack_sdk View: {exc}"))
    if not isinstance(blocks, Sequence) or isinstance(blocks, (str, bytes)):
        return problems
    for i, block in enumerate(blocks):
        if not isinstance(block, Mapping):
            problems.append(Violation(RULE, f"blocks[{i}]", "slack_sdk: block is not an object"))
            continue
        try:
            parsed = Block.parse(dict(block))
            if parsed is None:
                problems.append(
                    Violation(RULE, f"blocks[{i}]", f"slack_sdk: unknown block {block.get('type')!r}")
                )
            else:
                parsed.to_dict()
        except _MODEL_ERRORS as exc:
            problems.append(Violation(RULE, f"blocks[{i}]", f"slack_sdk {block.get('type')}: {exc}"))
    return problems
