"""The README's monitoring examples work as written, and the repository documents itself (no outside design doc)."""

from __future__ import annotations

import re
import urllib.request
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import start_ops_listener
from models.db import Database
from tests.conftest import ROOT

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def yaml_blocks(readme: str, heading: str) -> list[Any]:
    """The ```yaml blocks of one `## heading` section, parsed."""
    text = (ROOT / readme).read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.S)]


def exposed_metric_names(sqlite_db: Database) -> set[str]:
    """Every series name a scrape of this build can show (also for metrics nothing has recorded yet)."""
    listener = start_ops_listener(0, db=sqlite_db, health=lambda: (True, {}), host="127.0.0.1")
    assert listener is not None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{listener.port}/metrics", timeout=10) as response:
            text = response.read().decode()
    finally:
        listener.stop()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def test_monitoring_examples_parse_and_name_metrics_that_exist(sqlite_db: Database) -> None:
    scrape, rules = yaml_blocks("README.md", "Monitoring")
    assert [job["job_name"] for job in scrape["scrape_configs"]] == ["alumni-bot-web", "alumni-bot-jobs"]
    assert all(job["static_configs"][0]["targets"] for job in scrape["scrape_configs"])

    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert set(alerts) == {"AlumniOutboxStuck", "AlumniJobFailing", "AlumniSlack429Storm"}
    exposed = exposed_metric_names(sqlite_db)
    for name, rule in alerts.items():
        used = set(re.findall(r"\balumni_[a-z_]+", rule["expr"]))
        assert used, f"{name} uses no alumni metric"
        assert used <= exposed, f"{name} names metrics /metrics does not show: {used - exposed}"
        assert rule["annotations"]["summary"]


def test_the_japanese_readme_has_the_same_monitoring_examples() -> None:
    english = yaml_blocks("README.md", "Monitoring")
    japanese = yaml_blocks("README.ja.md", "監視")
    assert japanese[0] == english[0]
    for ja_group, en_group in zip(japanese[1]["groups"], english[1]["groups"], strict=True):
        ja_rules = [{k: v for k, v in rule.items() if k != "annotations"} for rule in ja_group["rules"]]
        en_rules = [{k: v for k, v in rule.items() if k != "annotations"} for rule in en_group["rules"]]
        assert ja_rules == en_rules


def test_the_repository_documents_itself() -> None:
    architecture = ROOT / "docs" / "ARCHITECTURE.md"
    assert architecture.is_file()
    for readme in ("README.md", "README.ja.md"):
        assert "(docs/ARCHITECTURE.md)" in (ROOT / readme).read_text(encoding="utf-8"), readme
    places = [ROOT / "README.md", ROOT / "README.ja.md", ROOT / ".env.example", *ROOT.glob("docs/**/*.md")]
    for package in ("bot", "handlers", "jobs", "models"):
        places.extend((ROOT / package).rglob("*.py"))
    outside = [p for p in places if re.search(r"\.\./shared|DESIGN\.md", p.read_text(encoding="utf-8"))]
    assert outside == [], f"these point outside the repository: {outside}"
