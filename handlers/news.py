"""Company news from leadership: `/alumni news` (`ニュース`) and the Home tab's "Post news" button open the news
modal for HR and the leaders named in `ALUMNI_LEADERS`; its Preview button shows the post below the fields as
it will be posted; the submission stores the post and queues it for the alumni channel through the outbox
(`jobs.news.post`), before the ack. Everyone else is refused privately, on the server, in every listener
(buttons and payloads can be forged). The Home tab shows the newest posts to everyone."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError

from bot.blocks.common import BlockDict, context, image_not_downloadable
from bot.blocks.news import BODY_BLOCK, IMAGE_BLOCK, NEW_NEWS, PREVIEW, SUBMIT, TITLE_BLOCK, news_modal
from bot.blocks.news import home_section as news_home_blocks
from bot.blocks.profiles import done_view
from bot.forms import error_message, field_errors, input_block_ids, state_values
from bot.forms import text as form_text
from bot.i18n import Translator
from bot.kit import Feature, Later, action, publish_home, tell_clicker, view
from bot.listeners import parse_id, user_id_of
from bot.mrkdwn import escape
from bot.services import Services
from jobs import news as news_jobs
from models.errors import DomainError, NotFound, ValidationFailed
from models.news import NewsDraft, check_news, get_news, may_post_news, recent_news

log = logging.getLogger(__name__)

NEWS_WORDS = ("news", "ニュース")
HOME_ORDER = 15  # right after the member's own check-in section: news from the company is for everyone
NOT_ALLOWED = "errors.not_allowed"
ERR_IMAGE_NOT_DOWNLOADABLE = "news.errors.image_not_downloadable"


def _may_post(services: Services, user_id: str) -> bool:
    """HR or a leader named in `ALUMNI_LEADERS` (the one rule, `models.news.may_post_news`)."""
    return bool(user_id) and may_post_news(services.actor(user_id), leaders=services.settings.leaders)


def home_section(services: Services, user_id: str, tr: Translator) -> list[BlockDict]:
    """The newest news for everyone; the "Post news" button only for those who may post."""
    with services.db.session() as session:
        recent = recent_news(session)
    return news_home_blocks(tr, recent=recent, can_post=_may_post(services, user_id))


def _open_modal(services: Services, user_id: str, trigger_id: str) -> None:
    modal = news_modal(services.translator(user_id), author_id=user_id)
    services.client.views_open(trigger_id=trigger_id, view=modal)


def on_news_subcommand(services: Services, ack: Ack, command: dict[str, Any], rest: str) -> None:
    """`/alumni news`: open the news modal (HR and leaders), or refuse privately in the ack."""
    user_id = user_id_of(command)
    if not _may_post(services, user_id):
        ack(response_type="ephemeral", text=services.translator(user_id)(NOT_ALLOWED))
        return
    ack()
    _open_modal(services, user_id, str(command["trigger_id"]))


def on_new(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The Home tab's "Post news" button: open the news modal (HR and leaders), or refuse privately."""
    ack()
    user_id = user_id_of(body)
    if not _may_post(services, user_id):
        tell_clicker(services, body, services.translator(user_id)(NOT_ALLOWED))
        return
    _open_modal(services, user_id, str(body["trigger_id"]))


# `check_news` / `jobs.news.post` keyword -> the modal's input block.
_FIELDS = {"title": TITLE_BLOCK, "body": BODY_BLOCK, "image_url": IMAGE_BLOCK}


def _values(modal: dict[str, Any]) -> dict[str, str]:
    """The modal's three fields as `check_news` keywords ('' when missing)."""
    values = state_values(modal)
    return {key: form_text(values, block) for key, block in _FIELDS.items()}


_LABELS = {"title": "news.title_label", "body": "news.body_label", "image_url": "news.image_label"}


def _with_errors(
    tr: Translator, user_id: str, values: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    """The modal as typed, with `errors` (field -> translated message) listed under the fields (a button's
    payload cannot answer with `response_action: errors`)."""
    modal = news_modal(
        tr, author_id=user_id, values=NewsDraft(values["title"], values["body"], values["image_url"] or None)
    )
    lines = [
        f":warning: *{escape(tr(_LABELS.get(field, 'news.title_label')))}*: {escape(message)}"
        for field, message in errors.items()
    ]
    modal["blocks"].append(context(*lines))
    return modal


def _preview_view(tr: Translator, user_id: str, values: dict[str, str]) -> dict[str, Any]:
    """The modal with the checked post below the fields, or with the field errors listed under them."""
    try:
        return news_modal(tr, author_id=user_id, draft=check_news(**values))
    except ValidationFailed as exc:
        return _with_errors(tr, user_id, values, field_errors(exc, tr))


def _image_not_downloadable(exc: SlackApiError) -> bool:
    """Slack fetches the preview's image itself and refuses the view when it cannot
    (https://docs.slack.dev/reference/block-kit/blocks/image-block: public, png/jpg/gif only)."""
    metadata = exc.response.get("response_metadata") or {}
    return image_not_downloadable(metadata.get("messages"))


def on_preview(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The modal's Preview button: replace the modal with itself plus the post as it will look (HR and
    leaders only: a forged click from anyone else changes nothing and is refused privately)."""
    ack()
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    modal = body.get("view") or {}
    if not _may_post(services, user_id):
        tell_clicker(services, body, tr(NOT_ALLOWED))
        return
    if not isinstance(modal, dict) or not modal.get("id"):
        return  # only a forged click has no modal to update
    values = _values(modal)
    updated = _preview_view(tr, user_id, values)
    metadata = str(modal.get("private_metadata") or "")
    # The hash makes Slack refuse the update when the modal changed meanwhile (a newer preview wins).
    extra = {"hash": str(modal["hash"])} if modal.get("hash") else {}
    try:
        services.client.views_update(
            view_id=str(modal["id"]), view={**updated, "private_metadata": metadata}, **extra
        )
    except SlackApiError as exc:
        if not _image_not_downloadable(exc):
            log.info("news preview not shown: %s", exc.response.get("error"))
            return
        refused = _with_errors(tr, user_id, values, {"image_url": tr(ERR_IMAGE_NOT_DOWNLOADABLE)})
        try:
            services.client.views_update(
                view_id=str(modal["id"]), view={**refused, "private_metadata": metadata}, **extra
            )
        except SlackApiError as again:
            log.info("news preview not shown: %s", again.response.get("error"))


def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later) -> None:
    """Store and queue the post before the ack (field errors stay in the modal, nothing is written); the
    poster's Home tab is refreshed after it. The outbox posts it to the alumni channel exactly once."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    values = _values(view)
    try:
        with services.db.session() as session:
            post = news_jobs.post(
                session, actor=services.actor(user_id), settings=services.settings, **values
            )
            title = post.title
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
        return
    except DomainError as exc:  # not HR nor a leader (a forged submission), or no alumni channel
        ack(response_action="errors", errors={TITLE_BLOCK: error_message(exc, tr)})
        return
    text = tr("news.posted", title=escape(title))
    ack(response_action="update", view=done_view(tr, title_key="news.modal_title", text=text))
    later(lambda: publish_home(services, user_id))


def redrawn_news(svc: Services, news_id: str) -> dict[str, Any] | None:
    """Erasure's redraw: a posted news item as it reads now (an erased author is no longer named)."""
    parsed = parse_id(news_id)
    if parsed is None:
        return None
    try:
        with svc.db.session() as session:
            post = get_news(session, parsed)
    except NotFound:
        return None
    return news_jobs.channel_message(post, svc.settings)


FEATURE = Feature(
    name="news",
    listeners=(
        action(NEW_NEWS, on_new),
        action(PREVIEW, on_preview),
        view(SUBMIT, on_submit),
    ),
    home=home_section,
    home_order=HOME_ORDER,
    subcommands={word: on_news_subcommand for word in NEWS_WORDS},
    jobs=tuple(news_jobs.SCHEDULED_JOBS),
    digest=news_jobs.digest_section,
    digest_order=news_jobs.DIGEST_ORDER,
    scopes=news_jobs.SCOPES,
    redraws={"news_post": redrawn_news},
    on_erasure=news_jobs.on_erasure,
)
