"""Page weight (gzip, HTML + CSS + JS) of every page, and load time over emulated 2G.

2G here is 250 kbit/s down and up with 300 ms latency (Chrome DevTools Protocol
Network.emulateNetworkConditions), with a cold cache. "Usable" is DOMContentLoaded (the
page is rendered and its forms work: they need no script), and `load` is also shown.
Needs /usr/bin/chromium (tools/ensure_chromium.sh). Results: docs/benchmarks.md.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tests.support.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_IMPLEMENTATION,
    DEMO_PASSWORD,
    WORK_OFFICIAL,
    live_server,
)

LIMIT_BYTES = 60 * 1024
KBIT = 1000 / 8  # bytes per second in one kbit/s
TWO_G = {
    "offline": False,
    "latency": 300,
    "downloadThroughput": 250 * KBIT,
    "uploadThroughput": 250 * KBIT,
}

PAGES: dict[str | None, list[str]] = {
    None: [
        "/",
        "/search?q=shbk",
        "/services/101110004000",
        f"/guide/{DEMO_IMPLEMENTATION}",
        "/login",
        "/register",
        "/settings",
    ],
    "citizen": [
        "/my/cases",
        f"/apply/{DEMO_IMPLEMENTATION}",
        f"/apply/{DEMO_IMPLEMENTATION}/materials",
        "/my/messages",
        "/account/proxies",
    ],
    "clerk": ["/desk", "/desk/cases"],
    WORK_OFFICIAL: ["/work"],
}


def _login(context: Any, base: str, username: str) -> None:
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#f-username", username)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main form button")
    page.close()


def _visit(context: Any, url: str, *, throttle: bool, elderly: bool = False) -> dict[str, float]:
    """Open one page with a cold cache; bytes on the wire and timings."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if throttle:
        cdp.send("Network.emulateNetworkConditions", TWO_G)
    sizes: dict[str, float] = {}
    kinds: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: kinds.__setitem__(e["requestId"], e["type"]))
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]),
    )
    page.goto(url, wait_until="load")
    timing = page.evaluate(
        """() => { const t = performance.getEntriesByType('navigation')[0];
        return {dcl: t.domContentLoadedEventEnd, load: t.loadEventEnd}; }"""
    )
    page.wait_for_timeout(100)
    total = sum(v for k, v in sizes.items() if kinds.get(k) in ("Document", "Stylesheet", "Script"))
    page.close()
    return {"bytes": total, "dcl_ms": timing["dcl"], "load_ms": timing["load"]}


def measure() -> dict[str, Any]:
    """Weigh every page and time the first page and the apply page over 2G."""
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {"pages": [], "two_g": []}
    with (
        tempfile.TemporaryDirectory() as tmp,
        live_server(Path(tmp)) as server,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for role, paths in PAGES.items():
            for elderly in (False, True):
                context = browser.new_context(locale="zh-CN")
                host = server.url.split("//")[1].split(":")[0]
                context.add_cookies(
                    [
                        {
                            "name": "tb_elderly",
                            "value": "1" if elderly else "0",
                            "domain": host,
                            "path": "/",
                        }
                    ]
                )
                if role:
                    _login(context, server.url, role)
                for path in paths:
                    got = _visit(context, server.url + path, throttle=False)
                    results["pages"].append(
                        {"path": path, "role": role or "anonymous", "elderly": elderly, **got}
                    )
                context.close()
        for label, role, path in (
            ("first page (home)", None, "/"),
            ("apply page", "citizen", f"/apply/{DEMO_IMPLEMENTATION}"),
        ):
            context = browser.new_context(locale="zh-CN")
            if role:
                _login(context, server.url, role)
            got = _visit(context, server.url + path, throttle=True)
            results["two_g"].append({"label": label, "path": path, **got})
            context.close()
        browser.close()
    return results


def main() -> None:
    """Print the weight table and the 2G timings."""
    results = measure()
    print("| page | who | mode | transferred (gzip, HTML+CSS+JS) |")
    print("|---|---|---|---|")
    for row in results["pages"]:
        mode = "长辈版" if row["elderly"] else "standard"
        print(f"| `{row['path']}` | {row['role']} | {mode} | {row['bytes'] / 1024:.1f} KB |")
    heaviest = max(r["bytes"] for r in results["pages"])
    print(f"\nheaviest page: {heaviest / 1024:.1f} KB (limit {LIMIT_BYTES / 1024:.0f} KB)")
    print("\n2G (250 kbit/s, 300 ms latency), cold cache:\n")
    print("| page | transferred | usable (DOMContentLoaded) | load |")
    print("|---|---|---|---|")
    for row in results["two_g"]:
        print(
            f"| {row['label']} `{row['path']}` | {row['bytes'] / 1024:.1f} KB | "
            f"{row['dcl_ms'] / 1000:.2f} s | {row['load_ms'] / 1000:.2f} s |"
        )
    assert heaviest <= LIMIT_BYTES, "a page is over 60 KB"
    assert all(r["dcl_ms"] <= 3000 for r in results["two_g"]), "2G budget of 3 s exceeded"


if __name__ == "__main__":
    main()
