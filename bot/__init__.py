"""Slack-facing kit of alumni-bot: settings, catalogs, Block Kit builders, the Slack client and roles."""
