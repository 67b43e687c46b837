"""A screenshot of the studio for the docs (docs/studio.md): starts ``overworld studio`` on a free port,
composes a loop in headless Chromium (Debian's chromium and chromium-driver, as tests/studio uses), selects
two bars on the roll and saves the page as docs/studio.png.

    python scripts/studio_screenshot.py                          # the bar model in runs/bars, else default
    python scripts/studio_screenshot.py --model DIR --out docs/studio.png --bars 8 --seed 4
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, server: subprocess.Popen, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"studio_screenshot: the studio exited ({server.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.3)
    sys.exit("studio_screenshot: the studio did not start")


def shoot(url: str, out: Path, info: dict, bars: int, seed: int) -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--hide-scrollbars",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver") or "chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.get(url)
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "model").text)
        for field, value in (("bars", bars), ("seed", seed)):
            driver.find_element(By.ID, field).clear()
            driver.find_element(By.ID, field).send_keys(str(value))
        if info["can_bars"]:
            driver.find_element(By.ID, "loop").click()
            driver.find_element(By.ID, "key").clear()
            driver.find_element(By.ID, "key").send_keys("D minor")
        driver.find_element(By.ID, "go").click()
        WebDriverWait(driver, 600, 0.5).until(
            lambda d: d.find_element(By.ID, "take-title").text or d.find_element(By.ID, "message").text
        )
        bands = {
            b.get_attribute("data-bar"): b
            for b in driver.find_elements(By.CSS_SELECTOR, "#roll svg rect.bar")
        }
        if "3" in bands and "4" in bands:
            chain = ActionChains(driver).click(bands["3"]).key_down(Keys.SHIFT).click(bands["4"])
            chain.key_up(Keys.SHIFT).perform()
        driver.execute_script("window.scrollTo(0, 0)")
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bar_model = ROOT / "runs" / "bars" / "model"
    parser.add_argument("--model", default=str(bar_model) if bar_model.is_dir() else "default")
    parser.add_argument("--out", default=str(ROOT / "docs" / "studio.png"))
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="overworld-studio-shot-")
    command = [
        sys.executable,
        "-m",
        "overworld",
        "studio",
        "--model",
        args.model,
        "--port",
        str(port),
        "--workdir",
        workdir,
        "--device",
        "cpu",
    ]
    server = subprocess.Popen(command)
    try:
        info = wait_for(f"http://127.0.0.1:{port}/api/info", server)
        shoot(f"http://127.0.0.1:{port}/", Path(args.out), info, args.bars, args.seed)
    finally:
        server.terminate()
        server.wait(10)
    print(f"{args.out}  ({info['model']}, {info['tokens']} tokens)")


if __name__ == "__main__":
    main()
