"""The playground's workspace: its people, channels, and the commands the manifest declares.

The five people the switcher offers (a Japanese alumnus in Tokyo, an English-speaking alumnus in London,
HR, an event organiser, a company leader who may post company news) always exist; `--demo` adds a few dozen
more alumni so the directory, digests and reports have something to show.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.playground.emulator import PlaygroundSlack

ALUMNI_CHANNEL = "C0PLAYALUM"
HR_CHANNEL = "G0PLAYHR01"
# Where approved alumni stories are shared with current staff (ALUMNI_STAFF_CHANNEL): HR, the organiser and
# the leader are current employees, the alumni are not in it.
STAFF_CHANNEL = "G0PLAYSTF1"

ALUMNUS_JA = "U0PLAYJA01"
ALUMNUS_EN = "U0PLAYEN01"
HR = "U0PLAYHR01"
ORGANIZER = "U0PLAYORG1"
LEADER = "U0PLAYLD01"


@dataclass(frozen=True)
class PersonSpec:
    """One person of the workspace (`role`: alumnus, hr, organizer or leader, one of ALUMNI_LEADERS)."""

    user_id: str
    handle: str
    real_name: str
    locale: str
    tz: str
    role: str = "alumnus"
    email: str = ""


MAIN_PEOPLE = (
    PersonSpec(ALUMNUS_JA, "hanako.sato", "佐藤 花子", "ja-JP", "Asia/Tokyo", email="hanako@example.com"),
    PersonSpec(ALUMNUS_EN, "emma.clarke", "Emma Clarke", "en-GB", "Europe/London", email="emma@example.com"),
    PersonSpec(HR, "kenji.tanaka", "田中 健二 (人事)", "ja-JP", "Asia/Tokyo", "hr", "kenji.hr@example.com"),
    PersonSpec(
        ORGANIZER, "maya.lopez", "Maya Lopez", "en-US", "America/Los_Angeles", "organizer", "maya@example.com"
    ),
    PersonSpec(
        LEADER, "yoko.ishida", "石田 陽子 (代表)", "ja-JP", "Asia/Tokyo", "leader", "yoko@example.com"
    ),
)

# Extra alumni for --demo: (handle, name, locale, tz).
_DEMO_JA = [
    ("yuki.suzuki", "鈴木 由紀"),
    ("taro.yamada", "山田 太郎"),
    ("aoi.kobayashi", "小林 葵"),
    ("ren.ito", "伊藤 蓮"),
    ("mei.watanabe", "渡辺 芽衣"),
    ("sho.nakamura", "中村 翔"),
    ("rina.kato", "加藤 里奈"),
    ("daiki.yoshida", "吉田 大輝"),
    ("haruka.yamaguchi", "山口 遥"),
    ("kaito.matsumoto", "松本 海斗"),
    ("sakura.inoue", "井上 さくら"),
    ("riku.kimura", "木村 陸"),
    ("nana.hayashi", "林 奈々"),
    ("sota.shimizu", "清水 颯太"),
    ("miu.yamazaki", "山崎 美羽"),
    ("takumi.mori", "森 拓海"),
]
_DEMO_EN = [
    ("oliver.brown", "Oliver Brown", "en-GB", "Europe/London"),
    ("sophia.nguyen", "Sophia Nguyen", "en-US", "America/New_York"),
    ("lucas.martin", "Lucas Martin", "en-US", "Europe/Paris"),
    ("amelia.wilson", "Amelia Wilson", "en-AU", "Australia/Sydney"),
    ("noah.kim", "Noah Kim", "en-US", "Asia/Seoul"),
    ("isla.patel", "Isla Patel", "en-GB", "Europe/London"),
    ("ethan.garcia", "Ethan Garcia", "en-US", "America/Los_Angeles"),
    ("grace.chen", "Grace Chen", "en-US", "Asia/Singapore"),
    ("jack.taylor", "Jack Taylor", "en-GB", "Europe/Dublin"),
    ("chloe.dubois", "Chloé Dubois", "en-US", "Europe/Paris"),
    ("liam.oconnor", "Liam O'Connor", "en-US", "America/Chicago"),
    ("zoe.fischer", "Zoe Fischer", "en-US", "Europe/Berlin"),
]


def demo_people() -> list[PersonSpec]:
    """The extra alumni `--demo` adds (ids U0DEMO001...)."""
    people = [
        PersonSpec(f"U0DEMO{i:03d}", handle, name, "ja-JP", "Asia/Tokyo", email=f"{handle}@example.com")
        for i, (handle, name) in enumerate(_DEMO_JA, start=1)
    ]
    start = len(people) + 1
    people += [
        PersonSpec(f"U0DEMO{i:03d}", handle, name, locale, tz, email=f"{handle}@example.com")
        for i, (handle, name, locale, tz) in enumerate(_DEMO_EN, start=start)
    ]
    return people


@dataclass
class Workspace:
    """Who and what the playground's Slack holds, and the manifest's commands for the message box."""

    people: list[PersonSpec]
    alumni_channel: str = ALUMNI_CHANNEL
    hr_channel: str = HR_CHANNEL
    staff_channel: str = STAFF_CHANNEL
    me_default: str = ALUMNUS_JA
    commands: list[dict[str, Any]] = field(default_factory=list)
    shortcuts: list[dict[str, Any]] = field(default_factory=list)
    _added: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def hr_users(self) -> list[str]:
        return [p.user_id for p in self.people if p.role == "hr"]

    @property
    def organizer_users(self) -> list[str]:
        return [p.user_id for p in self.people if p.role == "organizer"]

    @property
    def leader_users(self) -> list[str]:
        return [p.user_id for p in self.people if p.role == "leader"]

    @property
    def staff_users(self) -> list[str]:
        return [p.user_id for p in self.people if p.role != "alumnus"]

    def add_person(self, slack: PlaygroundSlack, name: str, locale: str, tz: str) -> str:
        """A new alumnus (the switcher's "add a person"); returns their user id."""
        user_id = f"U0NEW{next(self._added):05d}"
        handle = "".join(
            c for c in name.lower().replace(" ", ".") if c.isascii() and (c.isalnum() or c == ".")
        )
        spec = PersonSpec(user_id, handle or user_id.lower(), name, locale, tz)
        self.people.append(spec)
        _add_to_slack(slack, spec)
        return user_id


def _add_to_slack(slack: PlaygroundSlack, spec: PersonSpec) -> None:
    offset = datetime.now(ZoneInfo(spec.tz)).utcoffset()
    slack.add_user(
        spec.user_id,
        name=spec.handle,
        real_name=spec.real_name,
        email=spec.email or None,
        locale=spec.locale,
        tz=spec.tz,
        tz_offset=int(offset.total_seconds()) if offset is not None else 0,
    )
    slack.roles[spec.user_id] = [spec.role]
    slack.ensure_dm(spec.user_id)


def build_workspace(slack: PlaygroundSlack, *, demo: bool) -> Workspace:
    """Adds the people and channels to the emulator and reads the commands from the manifest."""
    from bot.app import build_registry
    from bot.manifest import build_manifest

    people = list(MAIN_PEOPLE) + (demo_people() if demo else [])
    workspace = Workspace(people=people)
    for spec in people:
        _add_to_slack(slack, spec)
    slack.add_channel(ALUMNI_CHANNEL, name="alumni")
    slack.add_channel(HR_CHANNEL, name="alumni-hr", is_private=True, members=workspace.hr_users)
    slack.add_channel(STAFF_CHANNEL, name="staff", is_private=True, members=workspace.staff_users)
    features = build_manifest(build_registry())["features"]
    workspace.commands = [
        {"command": c["command"], "description": c["description"], "usage_hint": c.get("usage_hint", "")}
        for c in features.get("slash_commands", [])
    ]
    workspace.shortcuts = [
        {"callback_id": s["callback_id"], "name": s["name"], "description": s["description"]}
        for s in features.get("shortcuts", [])
    ]
    return workspace
