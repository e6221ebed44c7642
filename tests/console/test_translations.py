"""Every string of the console has its Simplified Chinese: the project's .po has no empty msgstr, the committed
.mo says what the .po says, and the console's pages rendered in zh-Hans show no English of their own (text that
is data, such as names and ids, is marked ``translate="no"`` in the templates and left out of the check)."""

from __future__ import annotations

import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.api.world import world_for_module

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.BASE_DIR) / "controlplane" / "locale" / "zh_Hans" / "LC_MESSAGES"
ENGLISH_WORD = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{2,}(?![0-9A-Za-z])")  # a word, not a piece of a hex id
# Words that are the same in both languages: the product's and the engine's names, a file format.
SAME_IN_BOTH = {"SeaTunnel", "Zeta", "ID", "CSV", "JAR", "CPU"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file (the header left out; a msgid with a context keyed as gettext keys it). A
    plural entry is keyed ``msgid\x00msgid_plural``, as the .mo keys it, with its forms' msgstrs (``msgstr[n]``)
    joined by ``\x00``: an empty form shows as an empty part."""
    entries: dict[str, str] = {}
    msgid = msgstr = context = plural = None
    target = None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("msgctxt "):
            context = line[8:].strip('"')
        elif line.startswith("msgid "):
            msgid, msgstr, target = line[6:].strip('"'), None, "id"
        elif line.startswith("msgid_plural "):
            plural, target = line[13:].strip('"'), "plural"
        elif line.startswith("msgstr "):
            msgstr, target = line[7:].strip('"'), "str"
        elif line.startswith("msgstr["):
            form = line.split("]", 1)[1].strip().strip('"')
            msgstr, target = form if msgstr is None else f"{msgstr}\x00{form}", "str"
        elif line.startswith('"') and target == "id":
            msgid = (msgid or "") + line.strip('"')
        elif line.startswith('"') and target == "plural":
            plural = (plural or "") + line.strip('"')
        elif line.startswith('"') and target == "str":
            msgstr = (msgstr or "") + line.strip('"')
        elif not line.strip() and msgid is not None:
            if msgid:  # with a context, the key gettext's catalog uses: "<context>\x04<msgid>"
                key = msgid.replace('\\"', '"') + (f"\x00{plural}" if plural is not None else "")
                entries[f"{context}\x04{key}" if context else key] = (msgstr or "").replace('\\"', '"')
            msgid = msgstr = target = context = plural = None
    return entries


class PageText(HTMLParser):
    """The text of ``#console-page`` outside elements marked ``translate="no"`` (and outside scripts and styles);
    ``root="body"``: of the whole frame around it too (the theme's sidebar, header and account menu), its icons'
    ligature names left out."""

    def __init__(self, root: str = "console-page") -> None:
        super().__init__()
        self.root = root
        self.depth = 0  # inside the root: the open elements' count
        self.skipping: list[int] = []  # depths at which a translate="no" (or script/style) element opened
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if self.depth == 0 and not (found.get("id") == self.root or tag == self.root):
            return
        if tag in VOID:
            return
        self.depth += 1
        icon = "material-symbols" in (found.get("class") or "")  # a ligature: the icon's name is not text
        if found.get("translate") == "no" or tag in ("script", "style") or icon:
            self.skipping.append(self.depth)

    def handle_endtag(self, tag: str) -> None:
        if self.depth == 0 or tag in VOID:
            return
        if self.skipping and self.skipping[-1] == self.depth:
            self.skipping.pop()
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and not self.skipping and data.strip():
            self.text.append(data.strip())


def untranslated(html: str, root: str = "console-page") -> list[str]:
    parser = PageText(root)
    parser.feed(html)
    return [t for t in parser.text if set(ENGLISH_WORD.findall(t)) - SAME_IN_BOTH]


def compiled_text(catalog: gettext.GNUTranslations, key: str) -> str:
    """What the .mo says for a ``po_entries`` key: a plural entry's one form (Chinese has one), else the msgstr."""
    if "\x00" not in key:
        return catalog.gettext(key)
    singular, plural = key.split("\x00")
    return catalog.ngettext(singular, plural, 1)


def test_every_msgid_of_the_project_has_its_chinese_and_the_compiled_file_agrees():
    entries = po_entries(LOCALE / "django.po")
    assert len(entries) > 50
    assert [msgid for msgid, msgstr in entries.items() if not all(msgstr.split("\x00"))] == []
    with (LOCALE / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    stale = [msgid for msgid, msgstr in entries.items() if compiled_text(catalog, msgid) != msgstr]
    assert stale == [], "django.mo is older than django.po: run compilemessages (docs/CONSOLE.md)"


def test_the_check_catches_an_english_label_and_leaves_data_alone():
    page = '<div id="console-page"><h2>运行</h2><p translate="no">job-a <b>v2</b></p><th>New label</th></div><p>x y</p>'
    assert untranslated(page) == ["New label"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


def test_the_frame_around_the_page_is_in_chinese_too(world):
    # unfold's sidebar, header and account menu: our sidebar's words, and the theme's own (its theme switch: it
    # ships no Chinese catalog, so ours translates them). Left as they are: each language's own name in the
    # theme's language menu, and the user's name.
    client = Client(SERVER_NAME="localhost")
    client.force_login(world.users["owner"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    own_names = {name for code, name in settings.LANGUAGES} | {code for code, name in settings.LANGUAGES}
    own_names |= {"English", world.users["owner"].get_username()}
    found = untranslated(client.get(reverse("admin:console-dashboard")).content.decode(), root="body")
    assert [text for text in found if text not in own_names] == []
    assert "浅色" in client.get(reverse("admin:console-dashboard")).content.decode()


def test_every_console_page_in_chinese_has_no_english_of_its_own(world):
    client = Client(SERVER_NAME="localhost")
    client.force_login(world.users["owner"])
    failed_run = world.objects["acme_run_failed"]
    urls = [
        reverse("admin:console-dashboard"),
        reverse("admin:console-jobs"),
        reverse("admin:console-job", args=[world.objects["acme_job"]]),
        reverse("admin:console-job", args=[world.objects["acme_scheduled_job"]]),
        reverse("admin:console-runs"),
        reverse("admin:console-run", args=[world.objects["acme_run_running"]]),
        reverse("admin:console-run", args=[failed_run]),
        reverse("admin:console-audit"),
        reverse("admin:console-audit") + "?since=not-a-time",
    ]
    for language, expect_english in (("en", True), ("zh-hans", False)):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            found = untranslated(response.content.decode())
            if expect_english:  # the check sees the page's own words: in English they are there
                assert found, url
            else:
                assert found == [], (url, found)
    refused = Client(SERVER_NAME="localhost")
    refused.force_login(world.users["viewer"])
    refused.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = refused.post(reverse("admin:console-job-run", args=[world.objects["acme_job"]]))
    assert response.status_code == 403 and untranslated(response.content.decode()) == []
