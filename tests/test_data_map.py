"""The data map (P34): what is held, where and for how long, published from the code itself."""
from __future__ import annotations

from pathlib import Path

from chalicelib.cli import main as cli
from chalicelib.domain.retention import PurgeKind
from chalicelib.resources import QUEUES, TOPICS
from chalicelib.store.data_map import (
    DAILY_PURGE,
    QUEUE_CONTENTS,
    TOPIC_CONTENTS,
    render_markdown,
    table_entries,
)
from chalicelib.store.models import ALL_MODELS, Subscriber
from chalicelib.store.person_data import COVERAGE, KeyedHashesOnly, PersonalData

DOC = Path(__file__).resolve().parent.parent / "docs" / "DATA_MAP.md"


def test_p34_docs_data_map_is_what_the_code_says():
    assert DOC.read_text() == render_markdown("eu-west-1", "tidings"), (
        "docs/DATA_MAP.md is out of date: run `make data-map`")


def test_p34_every_table_queue_topic_and_purge_is_on_the_map():
    entries = {entry.name: entry for entry in table_entries()}
    assert set(entries) == {f"tidings-{model.Meta.logical_name}" for model in ALL_MODELS}
    assert all(entry.retention and entry.erased_by and entry.fields for entry in entries.values())
    assert set(QUEUE_CONTENTS) == {queue.logical_name for queue in QUEUES}
    assert set(TOPIC_CONTENTS) == set(TOPICS)
    assert set(DAILY_PURGE) == set(PurgeKind), "a purge step the map does not name"


def test_p34_the_personal_fields_named_are_the_tables_own():
    for model, coverage in COVERAGE.items():
        if isinstance(coverage, PersonalData | KeyedHashesOnly):
            assert coverage.fields, model.__name__
            assert set(coverage.fields) <= set(model.get_attributes()), model.__name__


def test_p34_subscribers_are_mapped_with_their_personal_fields_retention_and_erasers():
    entry = {entry.name: entry for entry in table_entries()}["tidings-subscribers"]
    assert entry.holds == "personal data"
    assert {"email", "phone", "name", "consent"} <= set(entry.personal_fields)
    assert "P29" in entry.retention and "P01" in entry.retention
    erasers = " ".join(entry.erased_by)
    assert "erasure request (P18)" in erasers and "ended_entries" in erasers and "TTL" in erasers


def test_p34_the_cli_prints_the_map_without_any_aws_call(capsys):
    assert cli(["data-map"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Data map (P34)") and "tidings-tracking-markers" in out
    assert "Amazon SES" in out and "eu-west-1" in out


def test_p34_data_map_lists_tracking_and_phone_consent_as_personal_fields():
    """Both proofs hold the IP and user agent the person gave or confirmed from (P30, P01 for SMS)."""
    fields = COVERAGE[Subscriber].fields
    assert [name for name in ("tracking", "phone_consent") if name not in fields] == []
    no_person = {"list_id", "account_id", "status", "restricted", "created_at", "updated_at", "ended_at",
                 "expires_at", "list_status", "purge_bucket"}
    assert set(Subscriber.get_attributes()) - no_person == set(fields), "every other attribute is theirs"


def test_p34_p25_a_table_only_ttl_deletes_says_ttl_comes_days_late():
    """DynamoDB TTL deletes "typically within a few days" of expiry: a table the daily purge does
    not reach keeps its items past the period its retention names, and the map must say so
    rather than call TTL a backstop; one the purge reaches keeps TTL as the backstop."""
    from pynamodb.attributes import TTLAttribute

    from chalicelib.store.data_map import expiry_purges

    for model, entry in zip(ALL_MODELS, table_entries(), strict=True):
        ways = "; ".join(entry.erased_by)
        if not any(isinstance(attribute, TTLAttribute) for attribute in model.get_attributes().values()):
            continue
        if expiry_purges(model):
            assert "(the backstop)" in ways, entry.name
        else:
            assert "the backstop" not in ways and "days after" in ways, (entry.name, ways)
