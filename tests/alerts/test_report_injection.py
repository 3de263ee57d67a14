"""A report is data, never code (issue 24): records whose every string field carries HTML and
JavaScript go through ``gatewatch report`` (a vehicle's folder, and a collector's
``day=*/vehicle=*/`` layout), and the page opened in headless Chromium runs nothing and asks
for nothing.

How execution and requests are seen: every payload, if it ever ran or were parsed as markup,
would write "PW"+"NED" into the title or the body and ask a local HTTP server (127.0.0.1, a
random port) for something. The DOM Chromium dumps after a virtual-time budget must hold no
"PWNED", the server must have had no request, and Chromium's console no Content-Security-Policy
violation (so nothing was even tried). The same harness on a page with the payloads pasted in
raw must see both, so the test could fail. The records are written by the real writer
(files.ChainedWriter, which seals them); Chromium missing skips with the reason."""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from monitor.alerts.files import ChainedWriter, WriterSettings, safe_name
from monitor.alerts.reportmap import SCRIPT

from ..builders import run
from .test_report import browse, chromium

VEHICLE = '<img src=x onerror="document.title=1">'


def payloads(port: int) -> list[str]:
    """Each one, run or parsed as markup, marks the page and asks the server for something."""
    url = f"http://127.0.0.1:{port}"
    mark = "document.title='PW'+'NED';document.body.append('PW'+'NED')"
    return [
        f"<script>window.__pwned=1;{mark};fetch('{url}/script')</script>",
        f'<img src=x onerror="{mark};new Image().src=\'{url}/onerror\'">',
        f"<img src={url}/img>",
        f"javascript:{mark};fetch('{url}/javascript-url')",
        f"</script><script>{mark};fetch('{url}/json')</script>",
        f'"><svg onload="{mark};fetch(\'{url}/svg\')">',
        f"'><svg/onload={mark};fetch('{url}/svg-single')>",
        f"</style><style>body{{background:url({url}/style)}}</style>",
        f"x;background:url({url}/css-url);color:red",
        f"</title><script>{mark};fetch('{url}/title')</script>",
        f'<link rel=stylesheet href="{url}/link">',
        f"<iframe src={url}/iframe></iframe>",
        f"<base href={url}/base/><a href=\"javascript:{mark}\">x</a>",
        f"]]><text>x</text></svg><script>{mark};fetch('{url}/svg-text')</script>",
        f"<object data={url}/object></object><embed src={url}/embed>",
    ]


class Requests(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    """(port, the paths asked for): a local HTTP server every payload tries to reach."""
    handler = type("Seen", (Requests,), {"seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], handler.seen
    httpd.shutdown()
    thread.join(timeout=30)
    httpd.server_close()


def poisoned(record: dict, texts: list[str], shift: int) -> dict:
    """The record with every string (the chain's aside: the writer seals it) replaced by a payload,
    a different one per field, shifted per record so every field carries every payload."""
    count = iter(range(10_000))

    def walk(value, key=""):
        if key == "chain":
            return value
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            return texts[(next(count) + shift) % len(texts)]
        return value

    return walk(copy.deepcopy(record))


def write_poisoned_log(folder: Path, trial_records: list[dict], texts: list[str]) -> int:
    """Every template poisoned len(texts) times, written and sealed by the real writer; with a
    record whose port is markup and one whose category is a list (not records: skipped, named).
    A DNS log beside it looks up payloads. How many records are written."""
    writer = ChainedWriter(folder, VEHICLE, WriterSettings(fsync=1000.0))
    n = 0
    for shift in range(len(texts)):
        for template in trial_records:
            writer.append(poisoned(template, texts, shift))
            n += 1
    wrong = [copy.deepcopy(t) for t in trial_records if t.get("evidences")][:2]
    wrong[0]["evidences"][0]["dst_endpoint"]["port"] = texts[1]
    wrong[1]["unmapped"]["gatewatch"]["category"] = [texts[0]]
    for record in wrong:
        writer.append(record)
    writer.close()
    dns = folder / f"dns-{safe_name(VEHICLE)}.jsonl"
    dns.write_text("".join(json.dumps({"query": text, "vehicle": "orig", "direction": "outbound"}) + "\n" for text in texts))
    return n


def as_dom_text(text: str) -> str:
    """How Chromium serialises a text node holding ``text``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\xa0", "&nbsp;")


def assert_inert(tmp_path: Path, page: Path, texts: list[str], seen: list[str], logs: Path) -> None:
    source = page.read_text()
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', source)
    assert policy, "no Content-Security-Policy"
    rules = html.unescape(policy[1])
    style = re.search(r"<style>(.*?)</style>", source, re.S)[1]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in rules
    for rule in ("default-src 'none'", "connect-src 'none'", "img-src data:"):
        assert rule in rules
    assert source.count("<style>") == 1 and " style=" not in source
    scripts = re.findall(r"<script>(.*?)</script>", source, re.DOTALL)
    assert scripts == [SCRIPT] and source.count("<script") == 1  # the map's zoom and pan: a constant
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    assert re.search(r"script-src ([^;]*)", rules)[1] == f"'sha256-{digest}'"  # that script and no other

    done = browse(tmp_path, page, "--dump-dom", "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "PWNED" not in dom, "a payload ran"
    assert seen == [], f"the page asked for {seen}"
    assert "Content Security Policy" not in done.stderr, "something in the page needed the policy to stop it"
    for tag in ("img", "iframe", "object", "embed", "link", "base", "a"):
        assert not re.search(rf"<{tag}[\s>/]", dom), f"a <{tag}> element in the page"
    assert dom.count("<script") == 1 and dom.count("<style>") == 1
    assert dom.count("<svg") == 3  # the map, the timeline by category and by vehicle
    for text in texts:  # shown, as text: the test sees the payloads, so it could fail
        assert as_dom_text(text) in dom, text
    code, summary, _ = run("alerts", "summary", str(logs), "--json")
    assert code == 0 and json.loads(summary)["episodes"] >= len(texts)
    assert len(re.findall(r'<tr class="alert" data-category="\w+"', dom)) == json.loads(summary)["episodes"]


def test_a_page_with_the_payloads_pasted_raw_is_caught(tmp_path, server):
    """The harness itself: payloads as markup (no escaping, no policy) are seen running and fetching."""
    chromium()
    port, seen = server
    page = tmp_path / "raw.html"
    page.write_text("<!DOCTYPE html><html><head><title>raw</title></head><body>" + "".join(payloads(port)) + "</body></html>")
    done = browse(tmp_path, page, "--dump-dom", "--virtual-time-budget=5000")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "PWNED" in done.stdout
    assert {"/script", "/onerror", "/img", "/link", "/json", "/svg-text"} <= set(seen), seen


def test_injected_records_run_nothing_in_a_vehicle_folder(tmp_path, server, trial_records, forged):
    chromium()
    port, seen = server
    texts = payloads(port)
    written = write_poisoned_log(forged, trial_records, texts)
    page = tmp_path / "report.html"
    code, out, err = run("report", str(forged), "-o", str(page), "--title", texts[0])
    assert code == 0 and "Traceback" not in err, err[-3000:]
    assert f"{written} records (2 lines that are not records skipped)" in out
    assert re.search(r"alerts-.*\.jsonl:\d+: not a record: evidences\[0\]\.dst_endpoint\.port \"", err), err
    assert re.search(r"alerts-.*\.jsonl:\d+: not a record: gatewatch\.category list is not a string", err), err
    assert_inert(tmp_path, page, texts, seen, forged)


def test_injected_records_run_nothing_through_the_collector_layout(tmp_path, server, trial_records, forged):
    chromium()
    port, seen = server
    texts = payloads(port)
    written = write_poisoned_log(forged / "vehicle", trial_records, texts)
    collector = forged / "collector"
    for day, half in (("2026-12-01", 0), ("2026-12-02", 1)):
        folder = collector / f"day={day}" / f"vehicle={safe_name(VEHICLE)}"
        folder.mkdir(parents=True)
        for name in ("alerts", "dns"):
            source = next((forged / "vehicle").glob(f"{name}-*.jsonl"))
            lines = source.read_text().splitlines(keepends=True)
            cut = len(lines) // 2
            (folder / source.name).write_text("".join(lines[:cut] if half == 0 else lines[cut:]))
    page = tmp_path / "fleet.html"
    code, out, err = run("report", str(collector), "-o", str(page))
    assert code == 0 and "Traceback" not in err, err[-3000:]
    assert f"{written} records (2 lines that are not records skipped)" in out
    assert_inert(tmp_path, page, texts, seen, collector)
