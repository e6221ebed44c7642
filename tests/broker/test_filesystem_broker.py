"""controlplane/filesystem_broker.py against kombu's own filesystem transport, in one process with real kombu
connections on a private broker folder.

The partial read of kombu issue #1551 is made deterministic: a payload whose JSON encoding runs a reader, so
the reader looks at the queue folder while the publisher is in the middle of its write."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from controlplane import filesystem_broker

KOMBU = "kombu.transport.filesystem:Transport"
OURS = filesystem_broker.TRANSPORT


@pytest.fixture
def options(tmp_path: Path) -> dict:
    return filesystem_broker.transport_options(tmp_path / "broker")


def connect(transport: str, options: dict) -> Connection:
    return Connection("filesystem://localhost//", transport=transport, transport_options=options)


def message(text: str) -> dict:
    """A message as a virtual channel stores it (what basic_publish hands to _put)."""
    return {
        "body": base64.b64encode(text.encode()).decode(),
        "content-type": "text/plain",
        "content-encoding": "utf-8",
        "headers": {},
        "properties": {
            "body_encoding": "base64",
            "delivery_tag": text,
            "delivery_info": {"exchange": "", "routing_key": "celery"},
        },
    }


class ReadsWhileEncoded:
    """Part of a payload: encoding it to JSON runs ``read`` (once), i.e. during the publisher's write."""

    def __init__(self, read) -> None:  # type: ignore[no-untyped-def]
        self.read = read
        self.seen: list[str] = []

    def __json__(self) -> str:
        try:
            self.seen.append(f"got {self.read()['properties']['delivery_tag']}")
        except Empty:
            self.seen.append("empty")
        except Exception as exc:
            self.seen.append(f"{type(exc).__name__}: {exc}")
        return "spy"


def test_kombus_transport_hands_a_reader_the_file_being_written_and_loses_the_message(options):
    with connect(KOMBU, options) as producer, connect(KOMBU, options) as consumer:
        spy = ReadsWhileEncoded(lambda: consumer.default_channel._get("celery"))
        producer.default_channel._put("celery", {**message("first"), "spy": spy})
        # The worker's error of the report: an empty file, claimed and parsed.
        assert spy.seen == ["JSONDecodeError: Expecting value: line 1 column 1 (char 0)"]
        # The publisher then wrote into a file the reader had already removed: the message is gone.
        with pytest.raises(Empty):
            consumer.default_channel._get("celery")


def test_a_reader_of_ours_never_sees_a_publish_in_progress(options):
    with connect(OURS, options) as producer, connect(OURS, options) as consumer:
        spy = ReadsWhileEncoded(lambda: consumer.default_channel._get("celery"))
        producer.default_channel._put("celery", {**message("first"), "spy": spy})
        assert spy.seen == ["empty"]
        got = consumer.default_channel._get("celery")
        assert got == {**message("first"), "spy": "spy"}
        with pytest.raises(Empty):
            consumer.default_channel._get("celery")
    for folder in ("data_folder_in", "tmp_folder", "processed_folder", "dead_letter_folder"):
        assert os.listdir(options[folder]) == [], folder


BAD_FILES = {
    "empty": (b"", "empty file"),
    "half-written": (json.dumps(message("x")).encode()[:40], "JSONDecodeError: Unterminated string"),
    "not an object": (b"[1, 2]", "TypeError: list indices must be integers or slices, not str (6 bytes)"),
    "no properties": (b'{"body": "eA=="}', "KeyError: 'properties' (16 bytes)"),
    "body not base64": (json.dumps({**message("x"), "body": "abc"}).encode(), "Error: Incorrect padding"),
}


@pytest.mark.parametrize("content", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_kombus_reader_raises_on_a_bad_file_ours_sets_it_aside_and_delivers_the_next(options, caplog, content):
    raw, reason = content
    queue = Path(options["data_folder_in"])
    dead = Path(options["dead_letter_folder"])
    name = "00000000000000000001_bad.celery.msg"

    (queue / name).write_bytes(raw)
    # basic_get builds the message as the worker's loop does: where the bad ones raise.
    with connect(KOMBU, options) as kombus, pytest.raises(Exception):  # noqa: B017 (JSON, key, type errors)
        kombus.default_channel.basic_get("celery", no_ack=True)

    (queue / name).write_bytes(raw)
    with connect(OURS, options) as ours:
        ours.default_channel._put("celery", message("good"))
        with caplog.at_level(logging.WARNING, logger="controlplane.filesystem_broker"):
            assert ours.default_channel.basic_get("celery", no_ack=True).body == b"good"
    assert os.listdir(queue) == []
    assert os.listdir(dead) == [name]
    assert (dead / name).read_bytes() == raw
    assert filesystem_broker.dead_letters(options) == [name]
    [record] = [r for r in caplog.records if r.name == "controlplane.filesystem_broker"]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"broker: message file {name} not delivered ({reason}")
    assert record.getMessage().endswith(f"; moved to {dead / name}")


def test_a_message_is_claimed_by_one_reader_only(options):
    with connect(OURS, options) as producer, connect(OURS, options) as first, connect(OURS, options) as second:
        for text in ("a", "b", "c"):
            producer.default_channel._put("celery", message(text))
        got = [first.default_channel._get("celery"), second.default_channel._get("celery")]
        got.append(first.default_channel._get("celery"))
        assert [m["properties"]["delivery_tag"] for m in got] == ["a", "b", "c"]
        for reader in (first, second):
            with pytest.raises(Empty):
                reader.default_channel._get("celery")


def test_an_exchange_table_being_changed_reads_whole_until_the_change_is_in(options):
    with connect(OURS, options) as writer, connect(OURS, options) as reader:
        writer.default_channel._queue_bind("celery.pidbox", "", "", "one")
        spy = ReadsWhileEncoded(
            lambda: {"properties": {"delivery_tag": reader.default_channel.get_table("celery.pidbox")}}
        )
        writer.default_channel._queue_bind("celery.pidbox", "", "", spy)
        assert spy.seen == ["got [exchange_queue_t(routing_key='', pattern='', queue='one')]"]
        assert [entry.queue for entry in reader.default_channel.get_table("celery.pidbox")] == ["spy", "one"]
        writer.default_channel._delete("one", "celery.pidbox", "", "")
        assert [entry.queue for entry in reader.default_channel.get_table("celery.pidbox")] == ["spy"]
    assert os.listdir(options["tmp_folder"]) == []


def test_a_message_published_while_a_batch_is_taken_comes_after_it(options):
    with connect(OURS, options) as producer, connect(OURS, options) as consumer:
        for text in ("a", "b"):
            producer.default_channel._put("celery", message(text))
        assert consumer.default_channel._get("celery") == message("a")  # lists a and b
        producer.default_channel._put("celery", message("c"))
        assert consumer.default_channel._get("celery") == message("b")
        assert consumer.default_channel._get("celery") == message("c")  # the batch used up: listed again
        with pytest.raises(Empty):
            consumer.default_channel._get("celery")
