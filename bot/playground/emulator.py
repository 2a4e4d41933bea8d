"""The playground's Slack: the test emulator plus what a person in a Slack client would see.

`PlaygroundSlack` extends `FakeSlack` (the same Web API the tests use) with the client-side state Slack's
apps keep for each person: ephemeral messages ("only visible to you"), answers to `response_url`, the modal
stack opened with a trigger, file messages, and the Web API errors the bot received (shown on the page
instead of hidden). A version counter lets the page ask "anything new?" cheaply.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bot.slack_emulator.blockkit import violations
from bot.slack_emulator.web_api import BOT_USER_ID, Call, FakeSlack, JsonDict, _ApiError, _Reply

# Calls that only read state: they must not wake every open page.
_READ_METHODS = frozenset(
    {
        "auth.test",
        "users.info",
        "users.list",
        "users.lookupByEmail",
        "usergroups.users.list",
        "conversations.info",
        "conversations.members",
        "conversations.history",
        "conversations.replies",
        "chat.getPermalink",
        "files.info",
        "file_download",
    }
)


@dataclass
class ResponseTarget:
    """Where answers to one request's `response_url` go: who clicked, in which channel, on which message."""

    user: str
    channel: str | None
    message_ts: str | None = None
    ephemeral: bool = False


@dataclass
class _Stack:
    view_ids: list[str] = field(default_factory=list)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)


class PlaygroundSlack(FakeSlack):
    """`FakeSlack` plus each person's client-side state (see module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version = 0
        self._changed = threading.Condition(self._lock)
        self._ephemeral: dict[str, list[JsonDict]] = {}
        self._targets: dict[str, ResponseTarget] = {}
        self._trigger_users: dict[str, str] = {}
        self._stacks: dict[str, _Stack] = {}
        self.slack_errors: list[JsonDict] = []
        self.notices: list[JsonDict] = []
        self.roles: dict[str, list[str]] = {}

    def _next_ts(self) -> str:
        # Real wall-clock timestamps (the test emulator counts from 2023): the page shows each message's time.
        self._ts_micros = max(self._ts_micros + 100, time.time_ns() // 1000)
        return f"{self._ts_micros // 1_000_000}.{self._ts_micros % 1_000_000:06d}"

    # ------------------------------------------------------------------ change tracking

    def touch(self) -> None:
        """Marks the state as changed and wakes pages waiting for news."""
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def wait_for_change(self, since: int, timeout: float) -> int:
        """Blocks until the version differs from `since` (or `timeout` passes); returns the version."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != since, timeout=timeout)
            return self.version

    def _record(self, method: str, args: JsonDict, reply: _Reply, key: str | None) -> None:
        with self._lock:
            super()._record(method, args, reply, key)
            call = self.calls[-1]
        if not call.ok and method not in ("upload_url", "file_download"):
            self._remember_error(call)
        if method not in _READ_METHODS:
            self.touch()

    def _remember_error(self, call: Call) -> None:
        messages = call.response.get("errors") or (call.response.get("response_metadata") or {}).get(
            "messages"
        )
        with self._lock:
            self.slack_errors.append(
                {
                    "method": call.method,
                    "error": call.error or f"HTTP {call.status}",
                    "messages": list(messages or []),
                }
            )
            del self.slack_errors[:-50]

    def notice(self, user: str, text: str) -> None:
        """A line the page shows to `user` (for example: the bot did not answer)."""
        with self._lock:
            self.notices.append({"user": user, "text": text})
            del self.notices[:-50]
        self.touch()

    # ------------------------------------------------------------------ people and requests

    def expect_trigger(self, trigger_id: str, user: str) -> None:
        """Remembers whose click a trigger_id came from, so `views.open` opens the modal for them."""
        with self._lock:
            self._trigger_users[trigger_id] = user

    def new_response_url(self, target: ResponseTarget) -> str:
        """A response_url whose answers are shown to `target.user` in `target.channel`."""
        with self._lock:
            key = self._next_id("R")
            self._targets[key] = target
        return self.response_url(key)

    def add_ephemeral(self, channel: str, user: str, text: str, blocks: Any) -> str:
        """Shows a message only `user` sees (an ack body, a response_url answer, chat.postEphemeral)."""
        with self._lock:
            ts = self._next_ts()
            message: JsonDict = {"type": "message", "ts": ts, "user": BOT_USER_ID, "bot_id": "BBOT"}
            message.update({"text": text or "", "ephemeral_to": user})
            if blocks:
                message["blocks"] = copy.deepcopy(blocks)
            self._ephemeral.setdefault(channel, []).append(message)
        self.touch()
        return ts

    def check_message_blocks(self, where: str, blocks: Any, text: Any) -> list[str]:
        """Block Kit problems Slack would reject in an ack body (recorded like an API error)."""
        if blocks is not None and not isinstance(blocks, list):
            problems = ["blocks must be a list"]
        else:
            problems = violations("message", blocks, None, text=text if isinstance(text, str) else None)
        if problems:
            self.record_error(where, "invalid_blocks", problems)
        return problems

    def record_error(self, method: str, error: str, messages: list[str]) -> None:
        """An error Slack would have answered outside the Web API (an ack body, a response_action)."""
        with self._lock:
            self.slack_errors.append({"method": method, "error": error, "messages": list(messages)})
            del self.slack_errors[:-50]
        self.touch()

    # ------------------------------------------------------------------ modal stacks

    def stack(self, user: str) -> list[str]:
        """The ids of `user`'s open modals, top last."""
        with self._lock:
            return list(self._stacks.get(user, _Stack()).view_ids)

    def view(self, view_id: str) -> JsonDict | None:
        """The current state of a view (modal or Home), as Slack sends it in payloads."""
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found is not None else None

    def set_view_errors(self, user: str, view_id: str, errors: dict[str, str]) -> None:
        with self._lock:
            self._stacks.setdefault(user, _Stack()).errors[view_id] = dict(errors)
        self.touch()

    def replace_view(self, user: str, view_id: str, view: JsonDict) -> list[str]:
        """`response_action: update`: the submitted view shows new content (problems Slack would reject)."""
        with self._lock:
            current = self._views.get(view_id)
            problems = violations("modal", view.get("blocks"), view)
            if current is None or problems:
                return problems or ["view not found"]
            self._view_object(view_id, view, root_view_id=current["root_view_id"])
            self._stacks.setdefault(user, _Stack()).errors.pop(view_id, None)
        self.touch()
        return []

    def push_view(self, user: str, view: JsonDict) -> list[str]:
        """`response_action: push`: a new view on top of the stack."""
        with self._lock:
            problems = violations("modal", view.get("blocks"), view)
            if problems:
                return problems
            stack = self._stacks.setdefault(user, _Stack())
            root = stack.view_ids[0] if stack.view_ids else None
            view_id = self._next_id("V")
            obj = self._view_object(view_id, view, root_view_id=root or view_id)
            obj["previous_view_id"] = stack.view_ids[-1] if stack.view_ids else None
            stack.view_ids.append(view_id)
        self.touch()
        return []

    def close_view(self, user: str, view_id: str | None = None, *, all_views: bool = False) -> None:
        """Closes the top view (or `view_id` and everything above it, or the whole stack)."""
        with self._lock:
            stack = self._stacks.setdefault(user, _Stack())
            if all_views:
                stack.view_ids.clear()
            elif view_id in stack.view_ids:
                del stack.view_ids[stack.view_ids.index(view_id) :]
            elif stack.view_ids and view_id is None:
                stack.view_ids.pop()
            stack.errors = {k: v for k, v in stack.errors.items() if k in stack.view_ids}
        self.touch()

    def _open_for(self, args: JsonDict) -> str | None:
        return self._trigger_users.get(str(args.get("trigger_id") or ""))

    def _views_open(self, args: JsonDict) -> JsonDict:
        result = super()._views_open(args)
        user = self._open_for(args)
        if user is not None:
            # A trigger opens a fresh modal: Slack replaces whatever the person had open.
            self._stacks[user] = _Stack(view_ids=[result["view"]["id"]])
        return result

    def _views_push(self, args: JsonDict) -> JsonDict:
        result = super()._views_push(args)
        user = self._open_for(args)
        if user is not None:
            stack = self._stacks.setdefault(user, _Stack())
            if len(stack.view_ids) >= 3:
                # Slack: "you can only push 2 additional views" onto a stack of 3.
                self._views.pop(result["view"]["id"], None)
                raise _ApiError("push_limit_reached")
            stack.view_ids.append(result["view"]["id"])
        return result

    def _views_update(self, args: JsonDict) -> JsonDict:
        result = super()._views_update(args)
        for stack in self._stacks.values():
            stack.errors.pop(result["view"]["id"], None)
        return result

    # ------------------------------------------------------------------ messages

    def _chat_post_ephemeral(self, args: JsonDict) -> JsonDict:
        result = super()._chat_post_ephemeral(args)
        shown = self.ephemerals[-1]
        message: JsonDict = {"type": "message", "ts": shown["ts"], "user": BOT_USER_ID, "bot_id": "BBOT"}
        message.update({"text": shown["text"], "ephemeral_to": shown["user"]})
        if shown.get("blocks"):
            message["blocks"] = shown["blocks"]
        self._ephemeral.setdefault(shown["channel"], []).append(message)
        return result

    def _files_complete_upload(self, args: JsonDict) -> JsonDict:
        result = super()._files_complete_upload(args)
        channel = args.get("channel_id")
        if channel:
            # In a Slack client a shared file is a message in the channel (with the initial comment).
            files = [{"id": f["id"], "name": f["name"], "title": f["title"]} for f in result["files"]]
            message: JsonDict = {"type": "message", "ts": self._next_ts(), "user": BOT_USER_ID}
            message.update({"bot_id": "BBOT", "text": args.get("initial_comment") or "", "files": files})
            if args.get("thread_ts"):
                message["thread_ts"] = str(args["thread_ts"])
            self._store(self._post_target(channel).id, message)
        return result

    def _response_post(self, key: str, body: JsonDict) -> JsonDict:
        result = super()._response_post(key, body)
        target = self._targets.get(key)
        if target is None or target.channel is None:
            return result
        channel = target.channel
        if body.get("delete_original") and target.message_ts:
            self._drop(channel, target.message_ts, ephemeral=target.ephemeral)
        elif _truthy(body.get("replace_original")) and target.message_ts:
            self._replace(channel, target.message_ts, body, ephemeral=target.ephemeral)
        elif body.get("response_type") == "in_channel":
            message: JsonDict = {"type": "message", "ts": self._next_ts(), "user": BOT_USER_ID}
            message.update({"bot_id": "BBOT", "text": body.get("text") or ""})
            if body.get("blocks"):
                message["blocks"] = body["blocks"]
            if body.get("thread_ts"):
                message["thread_ts"] = str(body["thread_ts"])
            self._store(channel, message)
        else:
            # Slack's default for response_url answers is an ephemeral message to the person who acted.
            ts = self._next_ts()
            message = {"type": "message", "ts": ts, "user": BOT_USER_ID, "bot_id": "BBOT"}
            message.update({"text": body.get("text") or "", "ephemeral_to": target.user})
            if body.get("blocks"):
                message["blocks"] = body["blocks"]
            self._ephemeral.setdefault(channel, []).append(message)
        return result

    def _drop(self, channel: str, ts: str, *, ephemeral: bool) -> None:
        pool = self._ephemeral.get(channel, []) if ephemeral else self._messages.get(channel, [])
        pool[:] = [m for m in pool if m["ts"] != ts]

    def _replace(self, channel: str, ts: str, body: JsonDict, *, ephemeral: bool) -> None:
        pool = self._ephemeral.get(channel, []) if ephemeral else self._messages.get(channel, [])
        for message in pool:
            if message["ts"] == ts:
                message["text"] = body.get("text") or ""
                if body.get("blocks") is not None:
                    message["blocks"] = body["blocks"]
                else:
                    message.pop("blocks", None)
                if not ephemeral:
                    message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}

    # ------------------------------------------------------------------ snapshot for the page

    def snapshot_messages(self) -> dict[str, list[JsonDict]]:
        """Every channel's messages for the page: stored ones plus ephemerals, oldest first."""
        with self._lock:
            out: dict[str, list[JsonDict]] = {}
            for channel_id in set(self._messages) | set(self._ephemeral):
                stored = self._messages.get(channel_id, [])
                shown = []
                for message in stored:
                    replies = [m for m in stored if m.get("thread_ts") == message["ts"] and m is not message]
                    shown.append(_page_message(message, len(replies)))
                shown += [_page_message(m, 0) for m in self._ephemeral.get(channel_id, [])]
                shown.sort(key=lambda m: float(m["ts"]))
                out[channel_id] = shown
            return out

    def snapshot_views(self) -> dict[str, list[JsonDict]]:
        with self._lock:
            return {
                user: [
                    {
                        "view_id": view_id,
                        "view": copy.deepcopy(self._views[view_id]),
                        "errors": dict(stack.errors.get(view_id, {})),
                    }
                    for view_id in stack.view_ids
                    if view_id in self._views
                ]
                for user, stack in self._stacks.items()
            }

    def snapshot_home(self) -> dict[str, JsonDict]:
        with self._lock:
            return copy.deepcopy(self.home_views)

    def snapshot_files(self) -> list[JsonDict]:
        with self._lock:
            return [
                {"id": file_id, "name": entry["name"], "title": entry.get("title") or entry["name"]}
                for file_id, entry in self.uploaded_files.items()
                if entry.get("completed")
            ]

    def file_bytes(self, file_id: str) -> tuple[bytes, str, str] | None:
        """(content, name, mimetype) of an uploaded file, or None."""
        with self._lock:
            entry = self.uploaded_files.get(file_id)
            if entry is None or entry.get("bytes") is None or not entry.get("completed"):
                return None
            return (
                entry["bytes"],
                str(entry["name"]),
                str(entry.get("mimetype") or _guess_type(entry["name"])),
            )

    def people(self) -> list[JsonDict]:
        with self._lock:
            return [
                {
                    "id": user.id,
                    "name": user.name,
                    "real_name": user.real_name,
                    "locale": user.locale,
                    "tz": user.tz,
                    "roles": list(self.roles.get(user.id, [])),
                }
                for user in self._users.values()
                if not user.is_bot and not user.deleted
            ]

    def channels(self) -> list[JsonDict]:
        with self._lock:
            out = []
            for channel in self._channels.values():
                kind = (
                    "im"
                    if channel.is_im
                    else "mpim"
                    if channel.is_mpim
                    else "private"
                    if channel.is_private
                    else "public"
                )
                item: JsonDict = {"id": channel.id, "name": channel.name, "kind": kind}
                if channel.is_mpim:
                    # A group DM (conversations.open with several users) is listed to its members only,
                    # named by them as a Slack client does.
                    item["members"] = list(channel.members or [])
                    item["title"] = ", ".join(
                        self._users[m].real_name for m in channel.members or [] if m in self._users
                    )
                elif channel.is_im:
                    item["user"] = channel.user
                elif channel.members is not None:
                    item["members"] = list(channel.members)  # the page lists a private channel to these only
                out.append(item)
            return out

    def is_member(self, user: str, channel_id: str) -> bool:
        """Whether `user` may read and write `channel_id` (their own DM with the bot, or a channel they are in)."""
        with self._lock:
            channel = self._channels.get(channel_id)
            if channel is None:
                return False
            if channel.is_im:
                return channel.user == user
            return channel.members is None or user in channel.members

    def ensure_dm(self, user: str) -> str:
        """The id of `user`'s DM with the bot (created on first use)."""
        with self._lock:
            return self._ensure_dm(self._user(user)).id

    def store_user_message(self, channel: str, user: str, text: str, thread_ts: str | None) -> str:
        """A message a person typed (stored as Slack would; the bot sees it only through subscribed events)."""
        ts = self.add_message(channel, text=text, user=user, thread_ts=thread_ts)
        self.touch()
        return ts


def _page_message(message: JsonDict, reply_count: int) -> JsonDict:
    out: JsonDict = {
        "ts": message["ts"],
        "user": message.get("user"),
        "bot": message.get("user") == BOT_USER_ID or bool(message.get("bot_id")),
        "text": message.get("text") or "",
        "blocks": copy.deepcopy(message.get("blocks") or []),
        "thread_ts": message.get("thread_ts"),
        "reply_count": reply_count,
        "edited": "edited" in message,
        "ephemeral_to": message.get("ephemeral_to"),
    }
    if message.get("files"):
        out["files"] = [dict(f, url=f"/files/{f['id']}") for f in message["files"]]
    return out


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _guess_type(name: Any) -> str:
    import mimetypes

    return mimetypes.guess_type(str(name))[0] or "application/octet-stream"
