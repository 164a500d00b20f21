import pytest
from tests.browser.conftest import login, VIEWPORTS

@pytest.mark.parametrize("viewport", VIEWPORTS, indirect=True)
def test_shots(page, live_server, viewport):
    s = lambda n: page.screenshot(path=f"/tmp/shots/{viewport}-{n}.png", full_page=True)
    b = live_server
    page.goto(b + "/login"); s("01-login")
    page.get_by_role("button", name="Log in").tap(); s("02-login-errors")
    login(page, b, "therapist@demo.test")
    s("03-patients")
    page.goto(b + "/patients?q=Nguy"); s("04-search")
    page.get_by_text("NGUYEN, Linh").tap(); page.wait_for_load_state(); s("05-detail")
    pid = page.url.rsplit("/", 1)[1]
    page.goto(b + f"/patients/{pid}/edit"); s("06-edit")
    page.goto(b + "/patients/new"); s("07-new")
    page.get_by_role("button", name="Register patient").tap(); page.wait_for_load_state(); s("08-new-errors")
    page.goto(b + f"/patients/{pid}/doses/new" ); s("09-dose")
    page.get_by_role("button", name="Record change").tap(); page.wait_for_load_state(); s("10-dose-errors")
    page.get_by_role("button", name="Log out").tap()
    login(page, b, "admin@demo.test"); s("11-users")
    page.goto(b + "/admin/users/new"); s("12-user-new")
    page.get_by_role("button", name="Create user").tap(); page.wait_for_load_state(); s("13-user-errors")
