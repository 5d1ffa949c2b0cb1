"""The demo's forms in a real browser, with JavaScript off and on (issue 15).

With JavaScript disabled every form still posts (``method="post"``, an ``action``) and is
answered with a redirect: logging in lands on the identity page and no URL the browser requests
ever carries the password; ending a session, logging out and "log out everywhere" (after its
confirmation page) work too. With JavaScript on, "log out everywhere" asks first as well, times
ahead read "in ...", and every page fits a 380 px wide screen without scrolling sideways.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import ACCESS, UA_LAPTOP, UA_PHONE, Shots, cookie, log_in, new_device
from tests.servers import RunningServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow

PASSWORD = "wonderland"


def record_requests(page: Page) -> list[Any]:
    """Every request the page makes (navigations, form posts, subresources)."""
    seen: list[Any] = []
    page.on("request", lambda request: seen.append(request))
    return seen


def test_login_without_javascript_lands_on_me_and_never_puts_the_password_in_a_url(
    browser: Browser, demo: RunningServer, shots: Shots
) -> None:
    from playwright.sync_api import expect

    context, page, _ = new_device(browser, UA_LAPTOP, java_script_enabled=False)
    requests = record_requests(page)
    page.goto(f"{demo.url}/sessions")
    assert page.url == f"{demo.url}/login?next=/sessions"
    form = page.locator("#login-form")
    assert form.get_attribute("method") == "post"
    assert form.get_attribute("action") == "/login"

    # A wrong password first: the form comes back with the error, the password not echoed.
    page.fill("#username", "alice")
    page.fill("#password", "not-" + PASSWORD)
    page.click("#login")
    expect(page.locator("#login-error")).to_have_text("Wrong user name or password")
    assert page.locator("#password").input_value() == ""
    assert page.locator("#username").input_value() == "alice"
    shots(page, "no-js-wrong-password")

    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{demo.url}/sessions")  # the page it was sent from, after a 303
    page.click("nav >> text=Me")
    page.wait_for_url(f"{demo.url}/me")
    expect(page.locator("#subject")).to_have_text("alice")
    expect(page.locator("#source")).to_have_text("cookie")
    shots(page, "no-js-me")
    assert cookie(context, ACCESS) is not None

    posts = [r for r in requests if r.method == "POST"]
    assert [(r.url, r.headers["content-type"]) for r in posts] == [
        (f"{demo.url}/login", "application/x-www-form-urlencoded"),
    ] * 2
    assert f"password=not-{PASSWORD}" in (posts[0].post_data or "")
    assert f"password={PASSWORD}" in (posts[1].post_data or "")
    urls = [r.url for r in requests]
    assert len(urls) >= 6
    assert not [u for u in urls if PASSWORD in u or "password" in u], urls
    assert [u for u in urls if "username" in u] == []
    context.close()


def test_sessions_and_log_out_everywhere_without_javascript(
    browser: Browser, demo: RunningServer, shots: Shots
) -> None:
    from playwright.sync_api import expect

    phone, phone_page, _ = new_device(browser, UA_PHONE)
    log_in(phone_page, demo.url, "bob", "builder")
    laptop, page, _ = new_device(browser, UA_LAPTOP, java_script_enabled=False)
    requests = record_requests(page)
    page.goto(f"{demo.url}/login")
    page.fill("#username", "bob")
    page.fill("#password", "builder")
    page.click("#login")
    page.wait_for_url(f"{demo.url}/me")
    tablet, tablet_page, _ = new_device(browser, UA_PHONE + " tablet")
    log_in(tablet_page, demo.url, "bob", "builder")  # a third session, to end from the list

    page.click("nav >> text=Sessions")
    rows = page.locator("#sessions tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#session-count")).to_have_text("3")
    # "Log out this one" on a session of the phone
    page.locator("#sessions tbody tr:not(.current) button").first.click()
    page.wait_for_url(f"{demo.url}/sessions")
    expect(rows).to_have_count(2)
    expect(page.locator("main")).to_contain_text("2 live sessions.")

    # "Log out everywhere" asks first; Cancel changes nothing.
    page.click("#logout-all")
    page.wait_for_url(f"{demo.url}/sessions/logout-all")
    expect(page.locator("#confirm-text")).to_contain_text("This ends 2 live sessions of bob")
    shots(page, "no-js-confirm-logout-all")
    page.click("#cancel")
    page.wait_for_url(f"{demo.url}/sessions")
    expect(rows).to_have_count(2)
    page.click("#logout-all")
    page.click("#confirm-logout-all")
    page.wait_for_url(f"{demo.url}/login?why=logged-out-all&ended=2")
    expect(page.locator("#why")).to_have_text(
        "You were logged out on every device (2 sessions ended)."
    )
    shots(page, "no-js-logged-out-everywhere")
    assert cookie(laptop, ACCESS) is None
    # The phone's token was revoked too.
    assert phone.request.get(f"{demo.url}/api/me").status == 401

    # Log in again, then the navigation's "Log out" form.
    page.fill("#username", "bob")
    page.fill("#password", "builder")
    page.click("#login")
    page.wait_for_url(f"{demo.url}/me")
    page.click("nav >> text=Log out")
    page.wait_for_url(f"{demo.url}/login?why=logged-out")
    expect(page.locator("#why")).to_have_text("You are logged out.")
    assert cookie(laptop, ACCESS) is None
    assert all(r.method == "GET" or r.method == "POST" for r in requests)
    assert not [r.url for r in requests if r.method == "GET" and "builder" in r.url]
    phone.close()
    tablet.close()
    laptop.close()


def test_log_out_everywhere_asks_first_with_javascript_too(
    browser: Browser, demo: RunningServer, shots: Shots
) -> None:
    from playwright.sync_api import expect

    context, page, errors = new_device(browser, UA_LAPTOP)
    log_in(page, demo.url, "bob", "builder")
    page.click("nav >> text=Sessions")
    page.wait_for_url(f"{demo.url}/sessions")
    with page.expect_navigation():
        page.click("#logout-all")  # no request that logs out: only the question
    assert page.url == f"{demo.url}/sessions/logout-all"
    expect(page.locator("#confirm-logout-all")).to_be_visible()
    assert context.request.get(f"{demo.url}/api/me").status == 200
    page.click("#confirm-logout-all")
    page.wait_for_url(re.compile(r".*/login\?why=logged-out-all&ended=\d+$"))
    expect(page.locator("#why")).to_contain_text("You were logged out on every device (")
    assert context.request.get(f"{demo.url}/api/me").status == 401
    assert errors == []
    context.close()


def test_times_ahead_read_in_not_just_now(browser: Browser, demo: RunningServer) -> None:
    """The token's ``exp`` (20 s ahead here) said "(just now)": it reads "(in 19 s)"."""
    from playwright.sync_api import expect

    context, page, errors = new_device(browser, UA_LAPTOP)
    log_in(page, demo.url)
    exp_row = page.locator("#claims tr", has=page.locator("th", has_text="exp"))
    expect(exp_row).to_contain_text(re.compile(r"\(in \d+ s\)"))
    assert "just now" not in exp_row.inner_text()
    iat_row = page.locator("#claims tr", has=page.locator("th", has_text="iat"))
    expect(iat_row).to_contain_text(re.compile(r"\((just now|\d+ s ago)\)"))
    page.click("nav >> text=Sessions")
    created = page.locator("#sessions tbody tr.current td").nth(2)
    expect(created).to_contain_text(re.compile(r"\((just now|\d+ s ago)\)"))
    assert errors == []
    context.close()


def _fits(page: Page, width: int) -> tuple[int, int]:
    scroll, body = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    return int(scroll), int(body)


@pytest.mark.parametrize("javascript", [True, False])
def test_every_page_fits_a_380px_screen(
    browser: Browser, demo: RunningServer, shots: Shots, javascript: bool
) -> None:
    width = 380
    long_ua = UA_PHONE + " " + "VeryLongUserAgentTokenWithoutSpaces" * 4
    other, other_page, _ = new_device(browser, long_ua)
    log_in(other_page, demo.url)  # a second row, with a long user agent
    context, page, _ = new_device(browser, long_ua, viewport={"width": width, "height": 800},
                                  java_script_enabled=javascript)  # fmt: skip
    page.goto(f"{demo.url}/login?why=revoked")
    assert _fits(page, width) <= (width, width), "login"
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{demo.url}/me")
    checked = []
    for path in ("/me", "/sessions", "/sessions/logout-all", "/lab"):
        page.goto(f"{demo.url}{path}")
        if javascript and path == "/lab":
            page.click("button.sample >> text=valid")
            page.locator("#verdict").wait_for()
            page.click("#mint-link")
            page.locator("#link").wait_for()
        shots(page, f"380px-{'js' if javascript else 'no-js'}{path.replace('/', '-')}")
        scroll, body = _fits(page, width)
        assert scroll <= width, f"{path}: scrollWidth {scroll} > {width}"
        assert body <= width, f"{path}: body scrollWidth {body} > {width}"
        checked.append(path)
    assert len(checked) == 4
    other.close()
    context.close()
