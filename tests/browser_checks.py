"""What a learner's browser waits for, measured in Debian's Chromium through Playwright: the bytes a page costs with a
cold cache on an emulated mobile network (CDP), when its diagrams are shown, what a repeat view asks the server for
again, and the console's errors. Used by bench/browser.py (with timings and targets) and by
tests/e2e/test_page_weight.py (the same checks, without timings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# "Fast 4G"-like: 9 Mbit/s down, 1.5 Mbit/s up, 150 ms round trip (CDP takes bytes per second and milliseconds).
FAST_4G = {"offline": False, "latency": 150, "downloadThroughput": 9_000_000 / 8, "uploadThroughput": 1_500_000 / 8}
# In every page, before its own scripts (CDP's init scripts are not subject to the page's CSP): a promise of the
# time (ms after navigation start) when every diagram picture of the page is loaded and decoded.
DIAGRAMS_SHOWN = """
window.__diagramsShown = new Promise((resolve) => {
  document.addEventListener("DOMContentLoaded", () => {
    const images = [...document.querySelectorAll("img.diagram-image")];
    Promise.all(images.map((img) => img.decode().then(() => img.naturalWidth > 0, () => false))).then((decoded) =>
      resolve({ count: images.length, decoded: decoded.filter(Boolean).length, at: performance.now() }));
  });
});
"""


@dataclass
class View:
    """One page opened: what went over the network and when it was shown."""

    path: str
    transferred: int = 0  # bytes received (CDP encodedDataLength: headers and compressed bodies)
    network: list[str] = field(default_factory=list)  # URLs fetched from the server, not from the cache
    diagrams: int = 0
    diagrams_decoded: int = 0
    diagrams_shown_ms: float | None = None
    dom_content_loaded_ms: float = 0.0
    load_ms: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def static_requests(self) -> list[str]:
        return [url for url in self.network if urlsplit(url).path.startswith("/static/")]


class NetworkLog:
    """The responses of one page as CDP reports them: which came from the server and how many bytes."""

    def __init__(self, cdp: Any) -> None:
        self.urls: dict[str, str] = {}
        self.cached: set[str] = set()
        self.from_network: dict[str, str] = {}
        self.bytes: dict[str, int] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", lambda event: self.cached.add(event["requestId"]))
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event: dict) -> None:
        self.urls[event["requestId"]] = event["request"]["url"]

    def _received(self, event: dict) -> None:
        response = event["response"]
        cached = response.get("fromDiskCache") or response.get("fromPrefetchCache") or response.get("fromServiceWorker")
        if not cached and event["requestId"] not in self.cached and not response["url"].startswith("data:"):
            self.from_network[event["requestId"]] = response["url"]

    def _finished(self, event: dict) -> None:
        self.bytes[event["requestId"]] = int(event.get("encodedDataLength", 0))

    def wait_until_finished(self, page: Any, timeout_ms: int = 15000) -> None:
        """Until every response from the network has finished loading (CDP events arrive while Playwright waits)."""
        waited = 0
        while waited < timeout_ms:
            page.wait_for_timeout(25)
            waited += 25
            if set(self.from_network) <= set(self.bytes) | self.cached:
                return

    def fill(self, view: View) -> None:
        network = {rid: url for rid, url in self.from_network.items() if rid not in self.cached}
        view.network = list(network.values())
        view.transferred = sum(self.bytes.get(rid, 0) for rid in network)


def watch_errors(page: Any, errors: list[str]) -> None:
    """Every console error (a CSP violation, a failed resource, …) and uncaught script error of `page`."""
    page.on("console", lambda message: message.type == "error" and errors.append(f"{page.url}: {message.text}"))
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))


def open_view(context: Any, path: str, throttle: bool = True) -> View:
    """Open `path` in a new page of `context` (its cache as it is) and wait until its diagrams are shown."""
    page = context.new_page()
    view = View(path)
    watch_errors(page, view.errors)
    page.add_init_script(DIAGRAMS_SHOWN)
    cdp = context.new_cdp_session(page)
    log = NetworkLog(cdp)
    cdp.send("Network.enable")
    if throttle:
        cdp.send("Network.emulateNetworkConditions", FAST_4G)
    try:
        page.goto(path, wait_until="load")
        shown = page.evaluate("window.__diagramsShown")
        timing = page.evaluate(
            "(() => { const n = performance.getEntriesByType('navigation')[0];"
            " return [n.domContentLoadedEventEnd, n.loadEventEnd]; })()"
        )
        page.evaluate("document.fonts.ready.then(() => true)")  # a web font is asked for late, by the layout
        log.wait_until_finished(page)
        view.diagrams, view.diagrams_decoded = shown["count"], shown["decoded"]
        view.diagrams_shown_ms = shown["at"] if shown["count"] else None
        view.dom_content_loaded_ms, view.load_ms = timing
        log.fill(view)
    finally:
        cdp.detach()
        page.close()
    return view


def logged_in_state(browser: Any, base_url: str, log_in: Callable[[Any], None]) -> dict:
    """The cookies of a session that `log_in(page)` opened, to start a context with them and an empty cache."""
    context = browser.new_context(base_url=base_url, locale="en-US")
    try:
        page = context.new_page()
        log_in(page)
        return context.storage_state()
    finally:
        context.close()


def cold_and_repeat(browser: Any, base_url: str, state: dict, path: str, throttle: bool = True) -> tuple[View, View]:
    """`path` opened in a fresh profile (cold cache, signed in with `state`), then again in that profile."""
    context = browser.new_context(base_url=base_url, locale="en-US", storage_state=state)
    try:
        return open_view(context, path, throttle), open_view(context, path, throttle)
    finally:
        context.close()


def console_errors(browser: Any, base_url: str, state: dict | None, paths: list[str]) -> dict[str, list[str]]:
    """The console errors of each page (every one opened in one profile, signed in with `state` if given)."""
    context = browser.new_context(base_url=base_url, locale="en-US", storage_state=state)
    found: dict[str, list[str]] = {}
    try:
        for path in paths:
            page = context.new_page()
            errors: list[str] = []
            watch_errors(page, errors)
            response = page.goto(path, wait_until="load")
            page.wait_for_timeout(100)  # errors logged just after load (a late image, a CSP report)
            if response is None or response.status >= 400:
                errors.append(f"{path}: HTTP {response.status if response else 'no response'}")
            found[path] = errors
            page.close()
    finally:
        context.close()
    return found
