"""The container's home page in headless Chromium, as a person uses it.

Each test signs up a fresh person on the live app (tests/live.py), adds the
showcase gadget (tests/gadgets/showcase.xml, served by the local gadget
host) by pasting its URL, and then works the page: the gadget renders with
data from a plain makeRequest, settings change what it shows, set_pref and
set_title reach the container over gadgets.rpc, the order survives a
reload, the canvas view opens and comes back, and the gadget goes away.

``UPDATE_SCREENSHOTS=1`` rewrites docs/screenshots/home.png and settings.png.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.live import ROOT, BrowserPage, GadgetHost, LiveApp

pytestmark = pytest.mark.browser

# Screenshots for the docs are rewritten only when asked, so an ordinary
# test run leaves the committed images alone.
SCREENSHOTS = ROOT / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
PASSWORD = "a-long-pass-phrase-42"
_people = itertools.count(1)


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    """Wait longer than Playwright's 5 s: page loads here run gadgets too."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def screenshot(page: Any, name: str, tmp_path: Path) -> None:
    folder = SCREENSHOTS if UPDATE_SCREENSHOTS else tmp_path
    page.screenshot(path=str(folder / name))


def sign_up(page: Any, live_app: LiveApp, username: str = "") -> str:
    # Generous: the whole suite may share the machine with these tests.
    page.set_default_timeout(20_000)
    username = username or f"person{next(_people)}"
    page.goto(live_app.url("accounts/signup/"))
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".whoami")).to_have_text(username)
    return username


def add_by_url(page: Any, live_app: LiveApp, spec_url: str) -> None:
    page.goto(live_app.url("/"))
    page.fill("#id_url", spec_url)
    page.click(".add-inline button[type=submit]")
    expect(page.locator(".message")).to_contain_text("Added")


def gadget(page: Any, module_id: int) -> Any:
    return page.frame_locator(f"#remote_iframe_{module_id}")


def wait_for_data(browser: BrowserPage, live_app: LiveApp, module_id: int) -> None:
    """Wait for the gadget's makeRequest data; explain a timeout."""
    data = gadget(browser.page, module_id).locator("#data")
    try:
        expect(data).to_have_text("Fetched from the gadget host", timeout=20_000)
    except AssertionError as error:
        raise AssertionError(
            f"{error}\nconsole: {browser.console}\npage errors: {browser.errors}\n"
            f"server log:\n{live_app.log_tail()}"
        ) from None


def column_titles(page: Any, column: int) -> list[str]:
    titles = page.locator(f'.column[data-column="{column}"] .gadget-title')
    return [text.strip() for text in titles.all_inner_texts()]


def test_log_in_add_a_gadget_and_see_it_render_with_fetched_data(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    page = browser_page.page
    username = sign_up(page, live_app)
    page.click("form[action='/accounts/logout/'] button")
    page.goto(live_app.url("accounts/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    add_by_url(page, live_app, gadget_host.url("showcase.xml"))

    wait_for_data(browser_page, live_app, 1)
    frame = page.frame(name="remote_iframe_1")
    assert frame is not None
    assert frame.evaluate("location.origin") == live_app.gadget_origin(
        gadget_host.url("showcase.xml")
    )
    expect(gadget(page, 1).locator("#greeting")).to_have_text("Hello, World!")
    # set_title and adjustHeight arrived over gadgets.rpc.
    expect(page.locator("#remote_iframe_1_title")).to_have_text("Showcase for World")
    height = page.eval_on_selector("#remote_iframe_1", "f => f.offsetHeight")
    assert height > 300
    assert browser_page.errors == []
    refused = [line for line in browser_page.console if "Refused" in line]
    assert refused == [], refused


def test_a_broken_url_is_refused_with_a_sentence(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    page = browser_page.page
    sign_up(page, live_app)

    page.fill("#id_url", gadget_host.url("no-such-gadget.xml"))
    page.click(".add-inline button[type=submit]")

    expect(page.locator(".form-error")).to_contain_text("answered 404")


def test_changing_a_pref_rerenders_the_gadget(
    browser_page: BrowserPage,
    live_app: LiveApp,
    gadget_host: GadgetHost,
    tmp_path: Path,
) -> None:
    page = browser_page.page
    sign_up(page, live_app, "grace")
    add_by_url(page, live_app, gadget_host.url("showcase.xml"))

    page.click("#gadget-menu-1 summary, .gadget-menu summary")
    page.click("text=Edit settings")
    page.fill("#id_up_name", "Ada")
    page.select_option("#id_up_colour", "orange")
    screenshot(page, "settings.png", tmp_path)
    page.click("button:has-text('Save')")

    expect(gadget(page, 1).locator("#greeting")).to_have_text("Hello, Ada!")
    expect(gadget(page, 1).locator("#colour")).to_have_text("orange")
    expect(page.locator("#remote_iframe_1_title")).to_have_text("Showcase for Ada")


def test_a_pref_the_gadget_sets_itself_is_saved(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    page = browser_page.page
    sign_up(page, live_app)
    add_by_url(page, live_app, gadget_host.url("showcase.xml"))
    wait_for_data(browser_page, live_app, 1)

    with page.expect_response(lambda r: r.url.endswith("/prefs")) as saved:
        gadget(page, 1).locator("#remember").click()
    assert saved.value.status == 200
    page.reload()

    expect(gadget(page, 1).locator("#greeting")).to_have_text("Hello, Grace!")


def test_moved_gadgets_keep_their_order_after_a_reload(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    page = browser_page.page
    sign_up(page, live_app)
    add_by_url(page, live_app, gadget_host.url("showcase.xml"))
    add_by_url(page, live_app, gadget_host.url("showcase.xml"))
    first = page.locator(".column[data-column='0'] .gadget").first
    moved_id = first.get_attribute("id")

    first.locator(".gadget-menu summary").click()
    first.locator("button[value=right]").click()
    page.reload()

    assert page.locator(f".column[data-column='1'] #{moved_id}").count() == 1
    assert page.locator(".column[data-column='0'] .gadget").count() == 1

    # Drag it back by its title bar to the foot of the first column.
    column = page.locator(".column[data-column='0']")
    box = column.bounding_box()
    with page.expect_response(lambda r: r.url.endswith("/move")) as moved:
        page.drag_and_drop(
            f"#{moved_id} .gadget-bar h2",
            ".column[data-column='0']",
            target_position={"x": 40, "y": box["height"] - 10},
        )
    assert moved.value.status == 200
    page.reload()
    ids = page.eval_on_selector_all(
        ".column[data-column='0'] .gadget", "els => els.map(e => e.id)"
    )
    assert ids[-1] == moved_id
    assert len(ids) == 2


def test_canvas_view_opens_with_params_and_comes_back(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    page = browser_page.page
    sign_up(page, live_app)
    add_by_url(page, live_app, gadget_host.url("showcase.xml"))
    wait_for_data(browser_page, live_app, 1)

    gadget(page, 1).locator("#to-canvas").click()

    page.wait_for_url("**/canvas?view-params=*")
    canvas = gadget(page, 1)
    expect(canvas.locator("#view-name")).to_have_text("canvas")
    expect(canvas.locator("#from")).to_have_text("default")
    expect(page.locator("#remote_iframe_1_title")).to_have_text("Showcase canvas")

    canvas.locator("#to-default").click()

    page.wait_for_url(live_app.url("/") + "**")
    expect(gadget(page, 1).locator("#view-name")).to_have_text("home")


def test_remove_a_gadget(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    page = browser_page.page
    sign_up(page, live_app)
    add_by_url(page, live_app, gadget_host.url("showcase.xml"))

    page.click(".gadget-menu summary")
    page.click("button:has-text('Remove')")

    expect(page.locator(".message")).to_contain_text("Removed")
    assert page.locator(".gadget").count() == 0
    expect(page.locator(".empty-page")).to_be_visible()


def test_minimise_is_kept_across_reloads(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    page = browser_page.page
    sign_up(page, live_app)
    add_by_url(page, live_app, gadget_host.url("showcase.xml"))

    with page.expect_response(lambda r: r.url.endswith("/minimise")):
        page.click(".minimise-form button")
    expect(page.locator(".gadget")).to_have_class("gadget is-minimised")
    page.reload()

    expect(page.locator(".gadget")).to_have_class("gadget is-minimised")
    expect(page.locator("#remote_iframe_1")).to_be_hidden()


# A few small gadgets so the screenshot looks like a page someone uses.
TODO_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Module>
  <ModulePrefs title="To-do" height="130"/>
  <UserPref name="items" display_name="Items" datatype="list"
            default_value="Water the plants|Book the train|Call Grace"/>
  <Content type="html"><![CDATA[
    <style>
      body { font: 14px system-ui, sans-serif; margin: 10px 12px; color: #1f2328; }
      ul { list-style: none; padding: 0; margin: 0; }
      li { padding: 6px 0; border-bottom: 1px solid #eef1f4; }
      li::before { content: "\\2610  "; color: #5f6b7a; }
    </style>
    <ul id="list"></ul>
    <script>
      gadgets.util.registerOnLoadHandler(function () {
        var list = document.getElementById("list");
        new gadgets.Prefs().getArray("items").forEach(function (item) {
          var li = document.createElement("li");
          li.textContent = item;
          list.appendChild(li);
        });
      });
    </script>
  ]]></Content>
</Module>
"""

NOTES_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Module>
  <ModulePrefs title="Sticky note" height="140"/>
  <UserPref name="text" display_name="Text"
            default_value="Pick up the keys from the office before 6."/>
  <Content type="html"><![CDATA[
    <style>
      body { margin: 0; font: 15px/1.5 "Comic Sans MS", system-ui, sans-serif; }
      .note { background: #fff6b3; margin: 10px; padding: 14px; min-height: 70px;
              box-shadow: 1px 2px 4px rgba(0,0,0,.12); }
    </style>
    <div class="note">__UP_text__</div>
  ]]></Content>
</Module>
"""

HEADLINES_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Module>
  <ModulePrefs title="Headlines" height="140"/>
  <Content type="html"><![CDATA[
    <style>
      body { font: 14px system-ui, sans-serif; margin: 8px 12px; }
      a { color: #1a5fb4; text-decoration: none; display: block; padding: 5px 0; }
      small { color: #5f6b7a; }
    </style>
    <a href="#">Gadgets are back, on origins of their own</a><small>2 h ago</small>
    <a href="#">How OAuth proxies keep your passwords at home</a><small>5 h ago</small>
    <a href="#">The week in open standards</a><small>yesterday</small>
  ]]></Content>
</Module>
"""


def test_screenshot_of_a_home_page(
    browser_page: BrowserPage,
    live_app: LiveApp,
    gadget_host: GadgetHost,
    tmp_path: Path,
) -> None:
    page = browser_page.page
    page.set_viewport_size({"width": 1280, "height": 820})
    sign_up(page, live_app, "alice")
    urls = [
        gadget_host.add("shot/headlines.xml", HEADLINES_XML, "application/xml"),
        gadget_host.add("shot/notes.xml", NOTES_XML, "application/xml"),
        gadget_host.add("shot/todo.xml", TODO_XML, "application/xml"),
        gadget_host.url("showcase.xml"),
    ]
    for url in urls:
        add_by_url(page, live_app, url)
    # Newest first in column 0: spread the first three over the columns.
    for module_id, column in ((1, 2), (2, 1), (3, 1)):
        bar = page.locator(f"#remote_iframe_{module_id}_title").locator("..")
        while (
            page.locator(
                f'.column[data-column="{column}"] #remote_iframe_{module_id}'
            ).count()
            == 0
        ):
            bar.locator(".gadget-menu summary").click()
            bar.locator("button[value=right]").click()
            bar = page.locator(f"#remote_iframe_{module_id}_title").locator("..")

    page.goto(live_app.url("/"))
    wait_for_data(browser_page, live_app, 4)
    expect(page.locator("#remote_iframe_4_title")).to_have_text("Showcase for World")
    expect(gadget(page, 3).locator("li").first).to_have_text("Water the plants")
    page.mouse.move(0, 0)
    screenshot(page, "home.png", tmp_path)


def test_add_a_gadget_from_the_gallery(
    browser_page: BrowserPage, live_app: LiveApp, gadget_host: GadgetHost
) -> None:
    spec_url = gadget_host.url("showcase.xml")
    live_app.manage(
        "shell",
        "-c",
        "from container.models import GalleryEntry; "
        f"GalleryEntry.objects.get_or_create(spec_url={spec_url!r}, "
        "defaults={'title': 'Showcase <b>', 'author': 'The tests', "
        "'description': 'Every rpc service at once.'})",
    )
    page = browser_page.page
    sign_up(page, live_app)

    page.goto(live_app.url("add/"))
    entry = page.locator(".gallery-entry", has_text="Showcase <b>")
    expect(entry.locator(".author")).to_have_text("by The tests")
    entry.locator("button").click()

    expect(page.locator(".message")).to_contain_text("Added Showcase")
    wait_for_data(browser_page, live_app, 1)
