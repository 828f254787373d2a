"""/about, /privacy and /terms: served by deskhand itself, naming the operator, and exactly the
pages a generated Teams manifest links to."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from bot import bootstrap, info_pages, manifests
from tests.bot.test_manifests import settings as manifest_settings
from tests.conftest import free_port, make_settings, sqlite_url, start_server


async def test_the_pages_answer_200_and_name_the_operator(tmp_path: Path) -> None:
    port = free_port()
    runner, live = await start_server(make_settings(
        sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}",
        operator_name="Acme IT <Service Desk>", operator_contact="it@acme.example"))
    teams = manifests.teams_manifest(manifest_settings(), bootstrap.commands())
    linked = [urlsplit(teams["developer"][key]).path for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl")]
    assert linked == ["/about", "/privacy", "/terms"]
    try:
        async with aiohttp.ClientSession() as http:
            for path, heading in zip(linked, ("About deskhand", "Privacy", "Terms of use"), strict=True):
                async with http.get(live.url + path) as r:
                    page = await r.text()
                    assert r.status == 200 and r.content_type == "text/html", path
                assert f"<h1>{heading}</h1>" in page
                assert "Acme IT &lt;Service Desk&gt;" in page and "<Service Desk>" not in page  # escaped
                assert '<a href="mailto:it@acme.example">it@acme.example</a>' in page
                assert all(f'href="{p}"' in page for p in linked)  # each page links the others
    finally:
        await runner.cleanup()


def test_without_an_operator_the_pages_say_who_in_general_terms() -> None:
    page = info_pages.render(manifest_settings(), *info_pages.PAGES[info_pages.PRIVACY_PATH])
    assert info_pages.NOBODY in page and info_pages.NO_CONTACT in page and "{" not in page
    site = manifest_settings(operator_name="Acme", operator_contact="https://help.acme.example/it")
    page = info_pages.render(site, *info_pages.PAGES[info_pages.ABOUT_PATH])
    assert '<a href="https://help.acme.example/it">https://help.acme.example/it</a>' in page
    page = info_pages.render(manifest_settings(operator_contact="ext. 4242"),
                             *info_pages.PAGES[info_pages.TERMS_PATH])
    assert "Questions about these terms: ext. 4242." in page
