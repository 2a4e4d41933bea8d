"""Reading modal state tolerates malformed payloads; field errors land on the right blocks."""

from __future__ import annotations

from bot.forms import field_errors, state_values
from bot.i18n import Translator
from models.errors import ValidationFailed


def test_state_values_reads_each_element_kind() -> None:
    view = {
        "state": {
            "values": {
                "title": {"a": {"type": "plain_text_input", "value": "Hi"}},
                "kind": {"a": {"type": "static_select", "selected_option": {"value": "job"}}},
                "none": {"a": {"type": "static_select", "selected_option": None}},
                "flags": {"a": {"type": "checkboxes", "selected_options": [{"value": "x"}]}},
                "day": {"a": {"type": "datepicker", "selected_date": "2026-12-01"}},
                "empty": {"a": {"type": "plain_text_input", "value": None}},
            }
        }
    }
    assert state_values(view) == {
        "title": "Hi",
        "kind": "job",
        "none": None,
        "flags": ["x"],
        "day": "2026-12-01",
        "empty": "",
    }


def test_state_values_survives_garbage() -> None:
    assert state_values({}) == {}
    assert state_values({"state": "x"}) == {}
    assert state_values({"state": {"values": {"a": "b", "c": {"d": 1}}}}) == {}


def test_field_errors_are_translated() -> None:
    error = ValidationFailed({"title": ("required", {}), "description": ("too_long", {"max": 10})})
    assert field_errors(error, Translator("en")) == {
        "title": "Please fill this in.",
        "description": "Please keep this to 10 characters or fewer.",
    }
    assert "10" in field_errors(error, Translator("ja"))["description"]
