"""Browser tests: the real app on 127.0.0.1, driven by Debian's Chromium through Playwright."""
