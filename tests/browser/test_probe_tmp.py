from playwright.sync_api import expect
from tests.browser.conftest import login

def test_radio(page, live_server, demo_patient_ids):
    login(page, live_server, "therapist@demo.test")
    page.goto(f"{live_server}/patients/new")
    page.get_by_label("Male", exact=True).check()
    expect(page.get_by_label("Male", exact=True)).to_be_checked()
    page.get_by_text("Unknown").tap()
    expect(page.get_by_label("Unknown")).to_be_checked()
    page.get_by_label("On dialysis").tap()
    expect(page.get_by_label("On dialysis")).to_be_checked()
    page.get_by_label("Unknown").focus(); page.keyboard.press("ArrowLeft")
    expect(page.get_by_label("Other")).to_be_checked()
    page.screenshot(path="/tmp/shots/radio-focus.png", clip={"x":0,"y":350,"width":834,"height":300})
