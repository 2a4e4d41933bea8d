"""Thin Bolt listeners, one module per feature, each with `register(registry)`.

`bot.features` lists every module here (explicitly); a listener decides, acks, parses the payload,
calls one domain operation in one session, renders with `bot/` builders and answers. No SQL here.
"""
