"""The playground: use the whole bot in a browser, with an embedded Slack emulator and no workspace.

`alumni-bot playground` (bot/playground/server.py) runs the unmodified bot against `PlaygroundSlack`
(bot/playground/emulator.py); `Bridge` (bot/playground/bridge.py) turns page actions into Slack-signed
requests; `--demo` seeds believable data (bot/playground/demo.py).
"""
