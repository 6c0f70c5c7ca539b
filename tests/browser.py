"""Open a page in real headless Debian chromium over the DevTools protocol (CDP): collect console
errors and uncaught exceptions, evaluate a script, take a full-page screenshot.

Also a command: `python tests/browser.py PAGE.html OUT.png [MAX_HEIGHT]` (how the docs/images/
screenshots were made).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--remote-debugging-port=0", "--remote-allow-origins=*"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageReport:
    errors: list[str] = field(default_factory=list)  # console errors, uncaught exceptions, failed loads
    value: object = None  # what the script evaluated to
    screenshot: bytes = b""


class _Session:
    def __init__(self, ws) -> None:
        self.ws, self.ids, self.events = ws, itertools.count(1), []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        n = next(self.ids)
        msg = {"id": n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == n:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        end = time.monotonic() + timeout
        for ev in self.events:
            if ev.get("method") == method:
                return ev
        while time.monotonic() < end:
            ev = json.loads(self.ws.recv())
            self.events.append(ev)
            if ev.get("method") == method:
                return ev
        raise TimeoutError(method)


def _errors(events: list[dict]) -> list[str]:
    out = []
    for ev in events:
        m, p = ev.get("method"), ev.get("params", {})
        if m == "Runtime.exceptionThrown":
            out.append("exception: " + json.dumps(p.get("exceptionDetails", {}), ensure_ascii=False)[:500])
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console." + p["type"] + ": " + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append("log: " + p["entry"].get("text", "") + " " + p["entry"].get("url", ""))
    return out


def open_page(page: Path, script: str = "null", width: int = 1200, timeout: float = 60, max_height: int = 20000) -> PageReport:
    """Load `page` (a local file) in a fresh chromium profile and report what happened."""
    import websocket  # websocket-client

    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="cnn_rnn_chromium_") as profile:
        proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            end = time.monotonic() + timeout
            while not (port_file.is_file() and len(port_file.read_text().split()) >= 2):
                if proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(f"chromium did not start (exit {proc.poll()})")
                time.sleep(0.1)
            port, path = port_file.read_text().split()[:2]
            ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=timeout, suppress_origin=True)
            try:
                cdp = _Session(ws)
                target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
                sid = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
                for domain in ("Page", "Runtime", "Log"):
                    cdp.send(f"{domain}.enable", session=sid)
                cdp.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": False}, session=sid)
                nav = cdp.send("Page.navigate", {"url": Path(page).resolve().as_uri()}, session=sid)
                if nav.get("errorText"):
                    raise RuntimeError(f"navigation failed: {nav['errorText']}")
                cdp.wait_for("Page.loadEventFired", timeout)
                value = cdp.send("Runtime.evaluate", {"expression": script, "returnByValue": True}, session=sid).get("result", {}).get("value")
                height = cdp.send("Runtime.evaluate", {"expression": "document.documentElement.scrollHeight", "returnByValue": True},
                                  session=sid)["result"]["value"]
                metrics = {"width": width, "height": min(int(height), max_height), "deviceScaleFactor": 1, "mobile": False}
                cdp.send("Emulation.setDeviceMetricsOverride", metrics, session=sid)
                shot = cdp.send("Page.captureScreenshot", {"format": "png"}, session=sid)["data"]
                time.sleep(0.2)  # late console messages
                cdp.send("Runtime.evaluate", {"expression": "1"}, session=sid)
                return PageReport(_errors(cdp.events), value, base64.b64decode(shot))
            finally:
                ws.close()
        finally:
            os.killpg(proc.pid, 9)
            proc.wait(10)


if __name__ == "__main__":
    report = open_page(Path(sys.argv[1]), max_height=int(sys.argv[3]) if len(sys.argv) > 3 else 20000)
    Path(sys.argv[2]).write_bytes(report.screenshot)
    print("errors:", report.errors or "none")
