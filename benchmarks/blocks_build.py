"""Cost of building a 19-block answer: `bot.blocks.common` helpers (slack_sdk model objects) vs plain dicts.

    .venv/bin/python -m benchmarks.blocks_build

The answer has the shape of a search result page: a header, then six results of a section with a button,
a context line and a divider. Both versions produce the same JSON (checked before timing).
"""

from __future__ import annotations

import timeit
from typing import Any

from bot.blocks.common import button, context, divider, header, section, to_dicts

RESULTS = 6


def with_models() -> list[dict[str, Any]]:
    blocks: list[Any] = [header("Opportunities: python")]
    for i in range(RESULTS):
        blocks.append(
            section(f"*Result {i}* <https://example.com/{i}|link>", accessory=button("Open", f"open_{i}"))
        )
        blocks.append(context(f"posted by <@U{i:08d}> · 3 days ago"))
        blocks.append(divider())
    return to_dicts(blocks)


def with_dicts() -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Opportunities: python", "emoji": True}}
    ]
    for i in range(RESULTS):
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Result {i}* <https://example.com/{i}|link>"},
                "accessory": {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open", "emoji": True},
                    "action_id": f"open_{i}",
                },
            }
        )
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"posted by <@U{i:08d}> · 3 days ago"}],
            }
        )
        blocks.append({"type": "divider"})
    return blocks


def main() -> int:
    assert with_models() == with_dicts() and len(with_dicts()) == 1 + 3 * RESULTS
    for name, build in (("slack_sdk models + to_dict", with_models), ("plain dicts", with_dicts)):
        runs = 2000
        best = min(timeit.repeat(build, number=runs, repeat=5)) / runs
        print(f"{name:28} {best * 1000:.3f} ms per 19-block answer")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
