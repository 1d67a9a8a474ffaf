"""One CSV export streamed in a process of its own, to measure what it costs in memory (run by bench/dashboard.py).

    python bench/export_rss.py DATABASE_URL PATH COOKIES_JSON

A worker's RSS is what the operating system had to give the process: this child starts the app on the
database, takes the logged-in session's cookies it is given, requests one dashboard page (imports, templates
and connection warmed up), then requests PATH and reads the streamed body in chunks, discarding them, as a WSGI
server writes them to the socket, while a thread samples the process's RSS every millisecond (and the loop at
every chunk). It prints one JSON line: the RSS just before the export (`baseline_kb`), the highest RSS seen
during it (`peak_kb`), the process's high-water mark (`hwm_kb`, from the kernel), the bytes and the time.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from course import create_app  # noqa: E402


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_kb()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.001):
            self.peak = max(self.peak, rss_kb())


def main() -> None:
    url, path, cookies = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    for cookie in cookies:
        client.set_cookie(cookie["key"], cookie["value"], domain=cookie["domain"], path=cookie["path"])
    warm = path.split("/export/")[0] + "/dashboard/learners"
    response = client.get(warm)
    assert response.status_code == 200, (warm, response.status_code)
    response.close()
    baseline = rss_kb()
    sampler = Sampler()
    sampler.start()
    started = time.perf_counter()
    response = client.get(path, buffered=False)
    assert response.status_code == 200, (path, response.status_code)
    size, peak = 0, baseline
    for chunk in response.response:
        size += len(chunk)
        peak = max(peak, rss_kb())
    response.close()
    seconds = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    result = {"baseline_kb": baseline, "peak_kb": max(peak, sampler.peak), "hwm_kb": hwm, "bytes": size}
    print(json.dumps({**result, "seconds": seconds}))


if __name__ == "__main__":
    main()
