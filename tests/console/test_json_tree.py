"""The console's JSON tree: every key and value of a nested document is on the page, escaped, and marked as data."""

from __future__ import annotations

from html.parser import HTMLParser

from controlplane.console.templatetags.console import TREE_DEPTH, json_tree


class Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append(data.strip())


def texts_of(html: str) -> list[str]:
    parser = Texts()
    parser.feed(html)
    return parser.texts


def test_a_nested_document_shows_each_key_and_value_once_in_order():
    document = {"env": {"parallelism": 2, "job.mode": "BATCH"}, "sinks": [{"plugin_name": "Console"}], "ok": True}
    html = json_tree(document)
    assert html.startswith('<div class="console-tree" translate="no">')
    assert texts_of(html) == [
        "env", "{2}", "parallelism", "2", "job.mode", "BATCH", "sinks", "[1]", "0", "{1}", "plugin_name", "Console",
        "ok", "true",
    ]  # fmt: skip
    assert "<details open>" in html


def test_values_are_escaped_and_empty_or_too_deep_parts_are_shown_as_json():
    assert "&lt;script&gt;" in json_tree({"x": "<script>alert(1)</script>"})
    assert "<script>" not in json_tree({"x": "<script>alert(1)</script>"})
    assert texts_of(json_tree({"a": {}, "b": [], "c": None})) == ["a", "{}", "b", "[]", "c", "null"]
    deep: object = "bottom"
    for _ in range(TREE_DEPTH + 2):
        deep = {"k": deep}
    assert '{"k": {"k": "bottom"}}' in texts_of(json_tree(deep))[-1].replace("&quot;", '"')
