"""The monthly report as PDF: A4, text and figures, page numbers, scope, bad input, query budget."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from egov.supervision import reports
from egov.supervision.choices import TaskState
from egov.supervision.tests.factories import SupervisionTaskFactory, TaskUnitFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=TZ)
PDFTOTEXT = shutil.which("pdftotext")
PDFINFO = shutil.which("pdfinfo")
URL = reverse("supervision:export_monthly_pdf")

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _task(world, unit, **fields):
    task = SupervisionTaskFactory(office=world.office, lead_unit=unit, **fields)
    TaskUnitFactory(task=task, organisation=unit, state="acknowledged")
    return task


def _month_fixture(world, overdue: int = 1) -> None:
    """City B closes one on time; city A closes one late and has `overdue` open ones overdue."""
    _task(
        world,
        world.city_b,
        title="唐山按期办结事项",
        state=TaskState.DONE,
        deadline=date(2026, 3, 10),
        closed_on=date(2026, 3, 9),
        completed_on_time=True,
        quality_score=90,
    )
    _task(
        world,
        world.city_a,
        title="石家庄逾期办结事项",
        state=TaskState.DONE,
        deadline=date(2026, 3, 5),
        closed_on=date(2026, 3, 12),
        completed_on_time=False,
        quality_score=70,
    )
    for i in range(overdue):
        _task(
            world,
            world.city_a,
            title=f"石家庄超期未办结事项{i:03d}",
            state=TaskState.IN_PROGRESS,
            deadline=date(2026, 3, 2 + i % 15),
        )


def _text(pdf: bytes, tmp_path: Path, first: int | None = None, last: int | None = None) -> str:
    assert PDFTOTEXT is not None
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    args = [PDFTOTEXT, "-enc", "UTF-8"]
    if first is not None:
        args += ["-f", str(first), "-l", str(last or first)]
    out = subprocess.run([*args, str(path), "-"], capture_output=True, check=True, timeout=30)
    return out.stdout.decode()


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _inflated(pdf: bytes) -> bytes:
    """The PDF with its compressed streams (object streams included) inflated, for regexes."""
    parts = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return b"\n".join(parts)


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", _inflated(pdf)))


def test_the_pdf_is_an_a4_report_with_title_units_and_figures(client, world, tmp_path):
    _month_fixture(world, overdue=1)
    client.force_login(world.supervisor)
    response = client.get(URL + "?month=2026-03")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="supervision-2026-03.pdf"' in response["Content-Disposition"]
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", _inflated(pdf))
    assert boxes
    for width, height in boxes:  # A4 = 210 × 297 mm = 595.28 × 841.89 pt
        assert abs(float(width) - 595.28) < 1 and abs(float(height) - 841.89) < 1
    if PDFINFO:
        path = tmp_path / "info.pdf"
        path.write_bytes(pdf)
        info = subprocess.run([PDFINFO, str(path)], capture_output=True, check=True, timeout=30)
        assert "(A4)" in info.stdout.decode()
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is not installed")
    text = _squash(_text(pdf, tmp_path))
    with translation.override(settings.LANGUAGE_CODE):
        title = reports.monthly_report_title(2026, 3)
        counter = reports.page_counter_css("%(page)s|%(pages)s")
    assert counter == 'counter(page) "|" counter(pages)'
    assert _squash(title) in text
    assert world.office.name in text  # the issuing office
    assert world.city_a.name in text and world.city_b.name in text
    assert "石家庄超期未办结事项000" in text and "石家庄逾期办结事项" in text  # overdue list
    assert "唐山按期办结事项" not in text  # closed on time: not in the overdue list
    assert "DB2026-" in text  # task numbers
    assert "33.3%" in text  # on-time rate: 1 of 3 due


def test_the_summary_comes_from_the_same_report_as_the_workbook(world):
    _month_fixture(world, overdue=2)
    report = reports.monthly_report(world.supervisor, 2026, 3, date(2026, 3, 20))
    assert (report.due, report.done_on_time, report.overdue_count) == (4, 1, 3)
    assert report.registered == 4 and report.closed == 2
    assert [s.unit_name for s in report.scores] == [world.city_b.name, world.city_a.name]
    assert len(report.overdue) == 3 and report.issuer == world.office
    assert reports.monthly_report_workbook(report).startswith(b"PK")


def test_page_numbers_and_table_headers_repeat_on_every_page(client, world, tmp_path):
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is not installed")
    _month_fixture(world, overdue=70)
    client.force_login(world.supervisor)
    pdf = client.get(URL + "?month=2026-03").content
    pages = _pages(pdf)
    assert pages >= 2
    with translation.override(settings.LANGUAGE_CODE):
        from django.utils.translation import gettext

        pattern = gettext("Page %(page)s of %(pages)s")
        header = gettext("Lead unit")
    last = _squash(_text(pdf, tmp_path, pages))
    assert _squash(pattern % {"page": pages, "pages": pages}) in last
    assert _squash(header) in last  # the overdue table's header, repeated


def test_outside_the_scope(client, world):
    _month_fixture(world)
    client.force_login(world.other_supervisor)
    assert client.get(URL + f"?month=2026-03&office={world.office.pk}").status_code == 404
    report = reports.monthly_report(world.other_supervisor, 2026, 3, date(2026, 3, 20))
    assert report.scores == [] and report.overdue == [] and report.issuer == world.outside
    client.force_login(world.handler_a)  # a unit, not a supervising office
    assert client.get(URL + f"?office={world.office.pk}").status_code == 404
    client.force_login(world.supervisor)
    for bad in ("abc", "-1", "9" * 40, "0", str(world.outside.pk)):
        assert client.get(URL + f"?office={bad}").status_code == 404, bad
    report = reports.monthly_report(
        world.supervisor, 2026, 3, date(2026, 3, 20), office_id=str(world.office.pk)
    )
    assert report.issuer == world.office and report.due == 3


def test_a_unit_gets_only_its_own_tasks(world):
    _month_fixture(world)
    report = reports.monthly_report(world.handler_b, 2026, 3, date(2026, 3, 20))
    assert [s.unit_name for s in report.scores] == [world.city_b.name]
    assert report.overdue == [] and report.issuer == world.city_b


def test_bad_month_and_method(client, world):
    client.force_login(world.supervisor)
    for bad in ("2026-13", "0000-01", "2026-3", "garbage", "2026-03" * 300, "２０２６-03"):
        response = client.get(URL, {"month": bad})
        assert response.status_code == 400, bad
        assert response["Content-Type"].startswith("text/plain")
    assert client.post(URL + "?month=2026-03").status_code == 405
    client.logout()
    response = client.get(URL + "?month=2026-03")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_download_buttons_are_side_by_side(client, world):
    client.force_login(world.supervisor)
    for name in ("dashboard", "rankings"):
        page = client.get(reverse(f"supervision:{name}") + "?month=2026-03").content.decode()
        assert 'data-testid="export-monthly"' in page
        assert f'href="{URL}?month=2026-03" data-testid="export-monthly-pdf"' in page


def test_the_fetcher_refuses_anything_not_local(tmp_path):
    fetcher = reports._local_only_fetcher()
    for url in (
        "http://127.0.0.1/x.css",
        "https://example.org/font.woff2",
        "ftp://example.org/a",
        "file:///etc/passwd",
        tmp_path.as_uri(),
    ):
        with pytest.raises(ValueError, match="non-local"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"


def test_a_remote_stylesheet_is_never_fetched(world, monkeypatch):
    """The template only ever names local resources; a remote one would be refused, not fetched."""
    from weasyprint import HTML

    def boom(*args, **kwargs):
        raise AssertionError("network used")

    monkeypatch.setattr("urllib.request.OpenerDirector.open", boom)
    html = '<link rel="stylesheet" href="http://127.0.0.1:9/x.css"><p>x</p>'
    assert HTML(string=html, url_fetcher=reports._local_only_fetcher()).write_pdf()[:4] == b"%PDF"


def test_query_budget_does_not_grow_with_rows(client, world):
    client.force_login(world.supervisor)
    counts = []
    for n in (1, 25):
        _month_fixture(world, overdue=n)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL + "?month=2026-03").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 12


def test_the_printed_overdue_list_is_capped(client, world, tmp_path, monkeypatch):
    _month_fixture(world, overdue=4)
    report = reports.monthly_report(world.supervisor, 2026, 3, date(2026, 3, 20), overdue_limit=2)
    assert len(report.overdue) == 2 and report.overdue_count == 5
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is not installed")
    monkeypatch.setattr(reports, "PDF_OVERDUE_ROWS", 2)
    client.force_login(world.supervisor)
    text = _squash(_text(client.get(URL + "?month=2026-03").content, tmp_path))
    assert "石家庄超期未办结事项000" in text and "石家庄超期未办结事项003" not in text
