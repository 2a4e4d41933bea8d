"""Thin Bolt listeners, one module per feature, each with `register(registry)`.

`bot.app` discovers every module here that defines `register`; a listener acks, parses the payload,
calls one domain operation in one session, renders with `bot/` builders and answers. No SQL here.
"""
