"""Drive a running playground through its JSON API, as the page does (no browser)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from bot.playground.server import Playground
from bot.playground.workspace import ALUMNI_CHANNEL, ALUMNUS_EN, ALUMNUS_JA, HR, HR_CHANNEL, ORGANIZER

__all__ = ["ALUMNI_CHANNEL", "ALUMNUS_EN", "ALUMNUS_JA", "HR", "HR_CHANNEL", "ORGANIZER", "Client"]


class Client:
    """The page's side of the API: GET /api/state, POST /api/..., GET /files/..."""

    def __init__(self, playground: Playground) -> None:
        self.pg = playground
        self.base = playground.url.rstrip("/")

    def request(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None, content_type: str = ""
    ) -> tuple[int, Any, dict[str, str]]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type or "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                content = resp.read()
                status, headers = resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            content, status, headers = exc.read(), exc.code, dict(exc.headers)
        if headers.get("Content-Type", "").startswith("application/json"):
            return status, json.loads(content.decode()), headers
        return status, content, headers

    def post(self, path: str, **body: Any) -> Any:
        status, answer, _ = self.request("POST", path, body)
        assert status == 200, (path, status, answer)
        return answer

    def state(self) -> dict[str, Any]:
        status, answer, _ = self.request("GET", "/api/state")
        assert status == 200
        return answer  # type: ignore[no-any-return]

    def until(self, what: str, found: Callable[[dict[str, Any]], Any], timeout: float = 30.0) -> Any:
        """Polls the state (as the page does) until `found(state)` is truthy; returns that value."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            value = found(state)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"never saw {what}; notices={state['notices']} errors={state['slack_errors']}"
                )
            time.sleep(0.1)

    # -- what a person sees ----------------------------------------------------------------------
    @staticmethod
    def visible(state: dict[str, Any], channel: str, user: str) -> list[dict[str, Any]]:
        """Messages `user` sees in `channel`: everyone's plus their own ephemerals."""
        return [m for m in state["messages"].get(channel, []) if m["ephemeral_to"] in (None, user)]

    @staticmethod
    def top_view(state: dict[str, Any], user: str) -> dict[str, Any] | None:
        stack = state["views"].get(user) or []
        return stack[-1] if stack else None


def texts(blocks: list[dict[str, Any]]) -> str:
    """All the text of some blocks, as one string (to check what a person reads)."""
    return json.dumps(blocks, ensure_ascii=False)


def elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(block_id, element) for every interactive element of some blocks."""
    for block in blocks:
        block_id = block.get("block_id", "")
        if block.get("accessory"):
            yield block_id, block["accessory"]
        if block.get("element"):
            yield block_id, block["element"]
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id"):
                yield block_id, element


def find(
    blocks: list[dict[str, Any]], action_id: str, value: str | None = None
) -> tuple[str, dict[str, Any]]:
    for block_id, element in elements(blocks):
        if element.get("action_id") == action_id and (value is None or element.get("value") == value):
            return block_id, element
    raise AssertionError(f"no element {action_id} in {texts(blocks)[:2000]}")


def click(block_id: str, element: dict[str, Any]) -> dict[str, Any]:
    """The `action` a button click sends."""
    action = {"type": element["type"], "action_id": element["action_id"], "block_id": block_id}
    if "value" in element:
        action["value"] = element["value"]
    if "text" in element:
        action["text"] = element["text"]
    return action


def fill(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The `state` a modal submits: `answers` maps block_id to a typed value (option values for selects)."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind = element["type"]
        answer = answers.get(block["block_id"])
        entry: dict[str, Any] = {"type": kind}
        if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
            entry["value"] = answer if answer is not None else element.get("initial_value")
        elif kind in ("static_select", "radio_buttons", "external_select"):
            entry["selected_option"] = (
                _option(element, answer) if answer is not None else element.get("initial_option")
            )
        elif kind in ("checkboxes", "multi_static_select"):
            chosen = answer if answer is not None else []
            entry["selected_options"] = [_option(element, v) for v in chosen]
        elif kind == "datepicker":
            entry["selected_date"] = answer if answer is not None else element.get("initial_date")
        elif kind == "datetimepicker":
            entry["selected_date_time"] = answer if answer is not None else element.get("initial_date_time")
        elif kind == "timepicker":
            entry["selected_time"] = answer if answer is not None else element.get("initial_time")
        elif kind == "users_select":
            entry["selected_user"] = answer
        elif kind == "file_input":
            entry["files"] = answer or []
        values[block["block_id"]] = {element["action_id"]: entry}
    return {"values": values}


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    for option in element.get("options") or []:
        if option["value"] == value:
            return {"text": option["text"], "value": value}
    return {"text": {"type": "plain_text", "text": value}, "value": value}
