"""Build the docs site and photograph pages of it in headless Chromium, wide and narrow.

    python tools/screenshots.py                    # writes PNGs to a new temporary directory
    python tools/screenshots.py --out /tmp/shots --page concepts/ --height 6000

The site is built with ``mkdocs build --strict`` into a temporary directory and served on
127.0.0.1 from this process (no server left behind). Each page is shot at 1280 and 390 px
wide with Chromium (the Debian package: ``apt-get install chromium``) and a fresh profile.
The pictures are for a person to look at (raw markup, broken tables, cut-off code); they are
not committed.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The home page, a type page, a guide and an API page.
PAGES = ["", "types/sets/", "guides/replicate/", "api/crdts/"]
WIDTHS = [1280, 390]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


def build(site: Path) -> None:
    """Build the site strictly into ``site``."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        check=True,
    )


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``site`` on a free loopback port from a daemon thread; return server and URL."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def shoot(browser: str, url: str, png: Path, width: int, height: int, profile: Path) -> None:
    """One screenshot of ``url`` at ``width`` x ``height`` into ``png``."""
    subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            url,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="directory for the PNGs (default: a new temp dir)")
    parser.add_argument(
        "--page", action="append", help="a page path such as types/sets/ (repeatable)"
    )
    parser.add_argument("--height", type=int, default=2400, help="window height in px")
    parser.add_argument("--width", type=int, action="append", help="window width in px")
    args = parser.parse_args(argv)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        parser.error("Chromium not found: apt-get install -y chromium")
    out = args.out or Path(tempfile.mkdtemp(prefix="crdtkit-shots-"))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="crdtkit-site-") as scratch:
        site, profile = Path(scratch, "site"), Path(scratch, "profile")
        build(site)
        server, base = serve(site)
        try:
            for page in args.page or PAGES:
                for width in args.width or WIDTHS:
                    name = (page.strip("/").replace("/", "-") or "home") + f"-{width}.png"
                    shoot(browser, base + page, out / name, width, args.height, profile)
                    print(out / name)
        finally:
            server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
