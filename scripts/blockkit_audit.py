"""Sum the Block Kit audit tally the test suite wrote with ``BLOCKKIT_AUDIT=<file>`` (one JSON line per test).

    BLOCKKIT_AUDIT=/tmp/audit.jsonl python -m pytest -q -n 2; python scripts/blockkit_audit.py /tmp/audit.jsonl

Prints, per rule id (see bot/slack_emulator/blockkit.py RULES and tests/blockkit_limits.py), how many
payloads the fake Slack refused for breaking it, and 0 for every rule that refused nothing.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from bot.slack_emulator.blockkit import RULES
from bot.slack_emulator.sdk_check import RULE as SDK_RULE


def main(path: str) -> None:
    tally: Counter[str] = Counter()
    file = Path(path)
    if file.exists():
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                tally.update(json.loads(line))
    for rule in [*RULES, SDK_RULE]:
        print(f"{rule:30} {tally.get(rule, 0)}")
    for rule in sorted(r for r in tally if r.startswith("missing_scope")):
        print(f"{rule:30} {tally[rule]}")
    print(f"{'total refused payload-rules':30} {sum(tally.values())}")


if __name__ == "__main__":
    main(sys.argv[1])
