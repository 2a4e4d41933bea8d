"""A Slack Web API emulator served over real HTTP, and the Block Kit rules it enforces.

The test suite talks to it instead of Slack (slack_sdk's ``WebClient(base_url=...)`` cannot tell the
difference), and the playground embeds it so the bot can be used in a browser without a workspace.
"""

from bot.slack_emulator.web_api import FakeSlack

__all__ = ["FakeSlack"]
