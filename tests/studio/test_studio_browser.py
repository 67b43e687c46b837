"""The studio in a real browser: Debian's headless Chromium driven by Selenium through the system
chromedriver (nothing downloaded). Open the page, set bars and seed, compose, wait for the player and
the roll, select two bars on the roll and regenerate them, download the zip and read its MIDI; a bad
upload is one line in the page; at 1024, 1400 and 1920 px a long take's roll scrolls in its box and the
page never sideways; the takes list is numbered by take and comes back on a reload; the page breaks no
rule of its Content-Security-Policy."""

from __future__ import annotations

import shutil
import time
import zipfile

import mido
import pytest

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the test extra)")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip(
        "Debian's chromium and chromium-driver (./install.sh --test installs them)", allow_module_level=True
    )

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def chromium(downloads) -> webdriver.Chrome:
    """Headless Chromium with the system chromedriver, downloads going to ``downloads``."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console: CSP violations show there
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))


@pytest.fixture
def browser(tmp_path):
    driver = chromium(tmp_path)
    yield driver
    driver.quit()


def _type(driver, element_id: str, text: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def _wait_for_take(driver, take: int, bars: int = 4) -> None:
    WebDriverWait(driver, 60, 0.1).until(
        lambda d: (
            d.find_element(By.ID, "take-title").text.startswith(f"Take {take}:")
            or d.find_element(By.ID, "message").text
        )
    )
    assert driver.find_element(By.ID, "message").text == ""
    WebDriverWait(driver, 20, 0.1).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#roll svg rect.bar")) == bars
    )
    # the mix is loaded in the player: the browser decoded its length
    WebDriverWait(driver, 20, 0.1).until(
        lambda d: d.execute_script(
            "const a = document.getElementById('player'); return a.readyState >= 1 && a.duration > 0"
        )
    )


def test_compose_regenerate_and_download(server, browser, tmp_path):
    browser.get(server.url)
    WebDriverWait(browser, 20).until(lambda d: "tiny" in d.find_element(By.ID, "model").text)
    _type(browser, "bars", "4")
    _type(browser, "seed", "11")
    browser.find_element(By.ID, "go").click()
    _wait_for_take(browser, 1)
    assert browser.find_elements(By.CSS_SELECTOR, "#roll svg rect.note")
    duration = browser.execute_script("return document.getElementById('player').duration")
    assert 8.0 <= duration < 8.5  # 4 bars of 4/4 at 120 bpm, and the last notes' release

    bars = {
        b.get_attribute("data-bar"): b for b in browser.find_elements(By.CSS_SELECTOR, "#roll svg rect.bar")
    }
    ActionChains(browser).click(bars["2"]).key_down(Keys.SHIFT).click(bars["3"]).key_up(Keys.SHIFT).perform()
    assert browser.find_element(By.ID, "selection").text == "Bars 2-3 selected."
    assert len(browser.find_elements(By.CSS_SELECTOR, "#roll svg rect.bar.selected")) == 2
    browser.find_element(By.ID, "regen").click()
    _wait_for_take(browser, 2)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history li")) == 2  # both takes kept

    browser.find_element(By.ID, "download").click()
    path = tmp_path / "overworld-take-2.zip"
    deadline = time.monotonic() + 20
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    archive = zipfile.ZipFile(path)
    assert {"overworld-take-2/piece.json", "overworld-take-2/mix.ogg"} <= set(archive.namelist())
    (tmp_path / "piece.mid").write_bytes(archive.read("overworld-take-2/piece.mid"))
    midi = mido.MidiFile(tmp_path / "piece.mid")
    assert max(sum(m.time for m in t) for t in midi.tracks) == 4 * 4 * midi.ticks_per_beat  # still 4 bars
    assert sum(m.type == "note_on" and m.velocity > 0 for t in midi.tracks for m in t) > 0


def test_a_bad_upload_is_one_line_in_the_page(server, browser, tmp_path):
    bad = tmp_path / "song.mid"
    bad.write_bytes(b"not a MIDI file at all")
    browser.get(server.url)
    WebDriverWait(browser, 20).until(lambda d: "tiny" in d.find_element(By.ID, "model").text)
    browser.find_element(By.CSS_SELECTOR, "#mode option[value=generate]").click()
    browser.find_element(By.ID, "primer").send_keys(str(bad))
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 20, 0.1).until(lambda d: d.find_element(By.ID, "message").text)
    message = browser.find_element(By.ID, "message").text
    assert message.startswith("song.mid: not a MIDI or module file") and "\n" not in message


def _layout(driver, width: int) -> dict:
    """The page's widths with the viewport ``width`` px wide."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    )
    return driver.execute_script("""
        const d = document.documentElement, roll = document.getElementById('roll');
        return {inner: window.innerWidth, scroll: d.scrollWidth, client: d.clientWidth,
                link: document.getElementById('download').getBoundingClientRect().right,
                player: document.getElementById('player').getBoundingClientRect().right,
                roll_scroll: roll.scrollWidth, roll_client: roll.clientWidth};""")


def _history(driver) -> list[tuple[str, str]]:
    return [
        (li.get_attribute("data-take"), li.text)
        for li in driver.find_elements(By.CSS_SELECTOR, "#history li")
    ]


def test_the_page_fits_every_width_and_keeps_its_takes(server, browser):
    browser.get(server.url)
    WebDriverWait(browser, 20).until(lambda d: "tiny" in d.find_element(By.ID, "model").text)
    take = len(server.studio.history()) + 1
    for field, value in (("bars", "8"), ("bpm", "40"), ("seed", "3")):  # 48 s: a roll 2880 px wide
        _type(browser, field, value)
    browser.find_element(By.ID, "go").click()
    _wait_for_take(browser, take, bars=8)
    for width in (1024, 1400, 1920):
        box = _layout(browser, width)
        assert box["inner"] == width and box["scroll"] <= box["client"], (width, box)  # no sideways scroll
        assert box["link"] <= box["client"] and box["player"] <= box["client"], (width, box)  # nothing cut
        assert box["roll_scroll"] > box["roll_client"], (width, box)  # the roll scrolls in its own box

    ids = [str(t.id) for t in server.studio.history()]
    assert [i for i, _ in _history(browser)] == ids  # the takes before (read on load) and the new one
    browser.refresh()  # a reload reads the takes from the studio
    WebDriverWait(browser, 20, 0.1).until(lambda d: len(_history(d)) == len(ids))
    assert [i for i, _ in _history(browser)] == ids
    assert all(text.startswith(f"Take {i}: ") for i, text in _history(browser))  # numbered by take
    _wait_for_take(browser, take, bars=8)  # the last take is shown again, roll and player
    violations = [
        e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]
    ]
    assert violations == []
