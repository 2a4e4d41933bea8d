"""Files and people through the Web API, for HR operations and privacy.

- `download_file`: a file a user shared in a `file_input` (files.info, then its private URL with the bot
  token; scope `files:read`).
- `upload_file`: Slack's external upload flow (files.getUploadURLExternal, POST to the upload URL,
  files.completeUploadExternal; scope `files:write`) into a channel or a user's DM.
- `slack_accounts_by_email`: one paginated `users.list` pass (scope `users:read.email`), instead of one
  `users.lookupByEmail` per row (that method allows about 50 calls a minute).
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient

from models.roster import SlackAccount, normalize_email

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


class FileTooLarge(Exception):
    """The shared file is larger than we accept."""


def download_file(
    client: WebClient, file_id: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES
) -> tuple[str, bytes]:
    """(name, content) of a file shared with the bot."""
    info = client.files_info(file=file_id)
    file: dict[str, Any] = info["file"]
    size = int(file.get("size") or 0)
    if size > max_bytes:
        raise FileTooLarge(file_id)
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    # The bot token goes along: only over https, or to the configured API host (a test double).
    api = urlsplit(client.base_url)
    target = urlsplit(url)
    if not (target.scheme == "https" or (target.scheme, target.netloc) == (api.scheme, api.netloc)):
        raise ValueError("file has no private https URL")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (Slack's URL from files.info)
        data: bytes = response.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLarge(file_id)
    return str(file.get("name") or file_id), data


def conversation_for(client: WebClient, recipient: str) -> str:
    """A channel ID for a channel or a user (their DM with the bot)."""
    if recipient.startswith(("U", "W")):
        opened = client.conversations_open(users=recipient)
        return str(opened["channel"]["id"])
    return recipient


def upload_file(
    client: WebClient,
    *,
    recipient: str,
    content: bytes,
    filename: str,
    title: str,
    initial_comment: str | None = None,
    thread_ts: str | None = None,
) -> str:
    """Upload through the external upload flow and share it with `recipient` (channel or user). Returns the file ID."""
    channel = conversation_for(client, recipient)
    response = client.files_upload_v2(
        content=content,
        filename=filename,
        title=title,
        channel=channel,
        initial_comment=initial_comment,
        thread_ts=thread_ts,
    )
    file = response.get("file") or {}
    return str(file.get("id") or "")


def slack_accounts_by_email(
    client: WebClient, *, page_size: int = 200, on_page: Callable[[int, int], None] | None = None
) -> dict[str, SlackAccount]:
    """Every active human user with an email, by normalised email, from one paginated users.list pass.

    `on_page(pages_read, accounts_found)` is called after each page (the command line shows it).
    """
    accounts: dict[str, SlackAccount] = {}
    cursor: str | None = None
    pages = 0
    while True:
        page = (
            client.users_list(limit=page_size, cursor=cursor)
            if cursor
            else client.users_list(limit=page_size)
        )
        for user in page.get("members") or []:
            if user.get("deleted") or user.get("is_bot") or user.get("id") == "USLACKBOT":
                continue
            profile = user.get("profile") or {}
            email = profile.get("email")
            if not email:
                continue
            name = str(profile.get("real_name") or user.get("real_name") or profile.get("display_name") or "")
            accounts[normalize_email(str(email))] = SlackAccount(user_id=str(user["id"]), name=name)
        pages += 1
        if on_page is not None:
            on_page(pages, len(accounts))
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return accounts


# ---------------------------------------------------------------------------------------------- outbox files
# A queued message (OutboxMessage.payload) may carry files under this key: a list of
# {"filename", "title", "content_b64"}. The delivery worker posts the message without the key, then uploads
# the files into the message's thread with `upload_message_files`.
OUTBOX_FILES_KEY = "alumni_files"


def outbox_file(*, filename: str, title: str, content: bytes) -> dict[str, str]:
    import base64

    return {"filename": filename, "title": title, "content_b64": base64.b64encode(content).decode("ascii")}


def split_files(message: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """(the chat.postMessage arguments, the files to upload after it)."""
    args = {k: v for k, v in message.items() if k != OUTBOX_FILES_KEY}
    files = message.get(OUTBOX_FILES_KEY) or []
    return args, [f for f in files if isinstance(f, dict)]


def upload_message_files(
    client: WebClient, *, channel: str, files: list[dict[str, str]], thread_ts: str | None = None
) -> list[str]:
    """Upload an outbox message's files (external upload flow) into `channel`, in the thread when given."""
    import base64

    ids = []
    for item in files:
        ids.append(
            upload_file(
                client,
                recipient=channel,
                content=base64.b64decode(item["content_b64"]),
                filename=item["filename"],
                title=item.get("title") or item["filename"],
                thread_ts=thread_ts,
            )
        )
    return ids
