"""The shared check-in post respects the profile's visibility."""

from __future__ import annotations

import json

from bot.blocks.checkins import community_post
from bot.i18n import Translator
from models.member import VISIBILITY_HR, VISIBILITY_MEMBERS, Member


def test_hr_only_profiles_share_no_role_or_company_in_the_channel() -> None:
    def post(visibility: str) -> str:
        member = Member(
            slack_user_id="U0ALICE01", current_role="CTO", current_company="SecretCo", visibility=visibility
        )
        return json.dumps(
            community_post(Translator("en"), user_id="U0ALICE01", member=member, whats_new="hi")
        )

    assert "SecretCo" not in post(VISIBILITY_HR)
    assert "SecretCo" in post(VISIBILITY_MEMBERS)
