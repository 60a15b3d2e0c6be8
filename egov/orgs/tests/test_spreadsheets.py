"""Excel and CSV import/export: all or nothing, rows and fields named, bad files refused."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.db.models import QuerySet
from django.utils import translation
from openpyxl import Workbook, load_workbook

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.core.models import AuditEvent
from egov.orgs import services, spreadsheets
from egov.orgs.choices import OrgLevel, Role
from egov.orgs.models import Organisation, User
from egov.orgs.spreadsheets import ImportInvalid, ImportRefused
from egov.orgs.tests.factories import OrganisationFactory, make_member
from egov.orgs.uscc import make_uscc

pytestmark = pytest.mark.django_db


def _code(n: int) -> str:
    return make_uscc("1", "1", "130100", f"XLX{n:05d}")


def _xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _csv(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    return "\r\n".join(",".join(r) for r in rows).encode(encoding)


@pytest.fixture
def tree() -> dict[str, Any]:
    root = OrganisationFactory.create()
    city = OrganisationFactory.create(parent=root, level=OrgLevel.CITY)
    other = OrganisationFactory.create(parent=root, level=OrgLevel.CITY)
    admin = make_member(city, Role.SYSTEM_ADMIN)
    return {
        "root": root,
        "city": city,
        "other": other,
        "admin": User.objects.get(pk=admin.pk),
        "acting": Acting(user=User.objects.get(pk=admin.pk)),
    }


HEADER = ["code", "name", "short_name", "doc_code", "kind", "level", "parent_code"]


def _org_row(n: int, parent: str, **kw: str) -> list[str]:
    row = {
        "code": _code(n),
        "name": f"导入单位{n}",
        "short_name": f"导{n}",
        "doc_code": f"导{n}",
        "kind": "department",
        "level": "city",
        "parent_code": parent,
        **kw,
    }
    return [row[h] for h in HEADER]


def _imported() -> QuerySet[Organisation]:
    return Organisation.objects.filter(name__startswith="导入单位")


def test_good_xlsx_import_with_parent_on_an_earlier_row(tree: dict[str, Any]) -> None:
    data = _xlsx(
        [
            HEADER,
            _org_row(1, tree["city"].code),
            [],  # blank rows are skipped
            _org_row(2, _code(1), kind="Internal unit"),  # label accepted as well as the value
        ]
    )
    result = spreadsheets.import_organisations(data, acting=tree["acting"])
    assert (result.created, result.updated) == (2, 0)
    child = Organisation.objects.get(code=_code(2))
    assert child.parent is not None and child.parent.code == _code(1)
    assert child.kind == "internal_unit" and child.depth == 3
    assert AuditEvent.objects.filter(action="org.imported").count() == 1
    assert AuditEvent.objects.filter(action="org.created").count() == 2


def test_good_csv_import_updates_by_code(tree: dict[str, Any]) -> None:
    spreadsheets.import_organisations(
        _csv([HEADER, _org_row(3, tree["city"].code)]), acting=tree["acting"]
    )
    result = spreadsheets.import_organisations(
        _csv([HEADER, _org_row(3, tree["city"].code, name="导入单位新名")]), acting=tree["acting"]
    )
    assert (result.created, result.updated) == (0, 1)
    assert Organisation.objects.get(code=_code(3)).name == "导入单位新名"


def test_gb18030_csv(tree: dict[str, Any]) -> None:
    data = _csv([HEADER, _org_row(4, tree["city"].code, name="导入单位（国标）")], "gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    spreadsheets.import_organisations(data, acting=tree["acting"])
    assert Organisation.objects.get(code=_code(4)).name == "导入单位（国标）"


def test_bad_rows_are_all_reported_and_nothing_is_kept(tree: dict[str, Any]) -> None:
    rows = [
        HEADER,
        _org_row(5, tree["city"].code),
        _org_row(6, tree["city"].code, code="913000000000000000"),
        _org_row(7, tree["other"].code),  # outside the admin's subtree
        _org_row(8, tree["city"].code, level="galaxy", doc_code="导5"),
        _org_row(5, tree["city"].code, doc_code="导9"),  # same code again
    ]
    for data in (_xlsx(rows), _csv(rows)):
        with pytest.raises(ImportInvalid) as excinfo:
            spreadsheets.import_organisations(data, acting=tree["acting"])
        found = {(e.row, e.field) for e in excinfo.value.errors}
        assert found == {
            (3, "code"),
            (4, "parent_code"),
            (5, "level"),
            (5, "doc_code"),
            (6, "code"),
        }
        assert excinfo.value.details[0]["row"] == 3
    assert not _imported().exists()
    assert not AuditEvent.objects.filter(action__startswith="org.").exists()


def test_missing_columns_and_parent_rules(tree: dict[str, Any]) -> None:
    with pytest.raises(ImportRefused):
        spreadsheets.import_organisations(_csv([["name"], ["x"]]), acting=tree["acting"])
    with pytest.raises(ImportInvalid) as excinfo:
        spreadsheets.import_organisations(
            _csv(
                [HEADER, _org_row(10, ""), _org_row(11, _code(12)), _org_row(12, tree["city"].code)]
            ),
            acting=tree["acting"],
        )
    assert {(e.row, e.field) for e in excinfo.value.errors} == {
        (2, "parent_code"),
        (3, "parent_code"),
    }


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        b"%PDF-1.7\n\x00\x01\x02",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,  # old .xls
        b"PK\x03\x04 this is not really a zip",
        b"   ",
        b"",
    ],
)
def test_non_spreadsheets_are_refused(tree: dict[str, Any], data: bytes) -> None:
    with pytest.raises(ImportRefused) as excinfo:
        spreadsheets.import_organisations(data, acting=tree["acting"])
    assert excinfo.value.field == "file"


def test_zip_that_is_not_a_workbook(tree: dict[str, Any]) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ImportRefused):
        spreadsheets.import_organisations(out.getvalue(), acting=tree["acting"])


def test_zip_bomb_is_refused_before_opening(tree: dict[str, Any], settings: Any) -> None:
    settings.EGOV_IMPORT_MAX_BYTES = 1024 * 1024
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (25 * 1024 * 1024))
    assert len(out.getvalue()) < settings.EGOV_IMPORT_MAX_BYTES
    with translation.override("en"), pytest.raises(ImportRefused) as excinfo:
        spreadsheets.import_organisations(out.getvalue(), acting=tree["acting"])
    with translation.override("en"):
        assert "expands" in str(excinfo.value.message)  # the size guard, not a parse failure


def test_oversize_and_too_many_rows(tree: dict[str, Any], settings: Any) -> None:
    rows = [HEADER] + [_org_row(20 + i, tree["city"].code) for i in range(3)]
    settings.EGOV_IMPORT_MAX_ROWS = 2
    with pytest.raises(ImportRefused):
        spreadsheets.import_organisations(_csv(rows), acting=tree["acting"])
    with pytest.raises(ImportRefused):
        spreadsheets.import_organisations(_xlsx(rows), acting=tree["acting"])
    settings.EGOV_IMPORT_MAX_ROWS = 100
    settings.EGOV_IMPORT_MAX_BYTES = 50
    with pytest.raises(ImportRefused):
        spreadsheets.import_organisations(_csv(rows), acting=tree["acting"])
    assert not _imported().exists()


def test_export_round_trip_and_formula_escape(tree: dict[str, Any]) -> None:
    OrganisationFactory.create(parent=tree["city"], name="=HYPERLINK(1)")
    response = spreadsheets.export_response(
        spreadsheets.ORG_COLUMNS,
        spreadsheets.organisation_rows(
            Organisation.objects.filter(path__startswith=tree["city"].path)
        ),
        fmt="xlsx",
        basename="organisations",
    )
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    values = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    assert values[0][0] == str(spreadsheets.ORG_COLUMNS[0].label)
    assert any(v[1] == "'=HYPERLINK(1)" for v in values[1:])
    # Re-importing the export (labels as headers) updates in place, nothing new. The city itself
    # has a parent outside the admin's subtree, so import only the rows below it.
    below = _xlsx([values[0]] + [v for v in values[1:] if v[0] != tree["city"].code])
    result = spreadsheets.import_organisations(below, acting=Acting.system("t"))
    assert result.created == 0 and result.updated == 1


# Users ---------------------------------------------------------------------------------------

USER_HEADER = ["username", "full_name", "email", "phone", "organisation_code", "title", "password"]


def test_user_import(tree: dict[str, Any]) -> None:
    rows = [
        USER_HEADER,
        [
            "wangwu",
            "王五",
            "ww@example.gov.cn",
            "13800000001",
            tree["city"].code,
            "科员",
            "Zx9#vbnmQ1",
        ],
        ["zhaoliu", "赵六", "", "", tree["city"].code, "", ""],
    ]
    result = spreadsheets.import_users(_xlsx(rows), acting=tree["acting"])
    assert result.created == 2
    wangwu = User.objects.get(username="wangwu")
    assert wangwu.check_password("Zx9#vbnmQ1") and wangwu.must_change_password
    assert not User.objects.get(username="zhaoliu").has_usable_password()
    # Again, with a changed name: an update.
    rows[1][1] = "王五改"
    rows[1][6] = ""
    result = spreadsheets.import_users(_csv(rows[:2]), acting=tree["acting"])
    assert result.updated == 1 and User.objects.get(username="wangwu").full_name == "王五改"
    assert AuditEvent.objects.filter(action="user.imported").count() == 2


def test_user_import_bad_rows(tree: dict[str, Any]) -> None:
    outsider = make_member(tree["other"], Role.CLERK)
    rows = [
        USER_HEADER,
        ["good1", "好", "", "", tree["city"].code, "", ""],
        ["bad name", "", "", "", tree["city"].code, "", ""],
        ["good2", "", "mail", "phone!", tree["city"].code, "", "short"],
        [outsider.username, "", "", "", tree["city"].code, "", ""],
        ["good3", "", "", "", tree["other"].code, "", ""],
        ["good4", "", "", "", "", "", ""],
        ["GOOD1", "", "", "", tree["city"].code, "", ""],
    ]
    with pytest.raises(ImportInvalid) as excinfo:
        spreadsheets.import_users(_csv(rows), acting=tree["acting"])
    assert {(e.row, e.field) for e in excinfo.value.errors} == {
        (3, "username"),
        (4, "email"),
        (4, "phone"),
        (4, "password"),
        (5, "username"),
        (6, "organisation_code"),
        (7, "organisation_code"),
        (8, "username"),
    }
    assert not User.objects.filter(username__startswith="good").exists()


def test_user_export_lists_roles(tree: dict[str, Any]) -> None:
    response = spreadsheets.export_response(
        spreadsheets.USER_COLUMNS,
        spreadsheets.user_rows(User.objects.filter(pk=tree["admin"].pk)),
        fmt="csv",
        basename="users",
    )
    text = response.content.decode("utf-8-sig")
    assert "system_admin" in text and tree["city"].code in text


def test_user_import_refuses_an_email_longer_than_the_column(tree: dict[str, Any]) -> None:
    """Django's validate_email accepts up to 320 characters; the column holds 254 (PostgreSQL
    refused the row with a DataError: a 500 instead of the row's error)."""
    long_email = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".cn"
    assert len(long_email) > 254
    rows = [USER_HEADER, ["longmail", "长", long_email, "", tree["city"].code, "", ""]]
    with pytest.raises(ImportInvalid) as excinfo:
        spreadsheets.import_users(_csv(rows), acting=tree["acting"])
    assert {(e.row, e.field) for e in excinfo.value.errors} == {(2, "email")}
    assert not User.objects.filter(username="longmail").exists()
    # The service refuses it too, naming the field.
    with pytest.raises(DomainError) as refused:
        services.do_create_user(
            username="longmail",
            position=services.NewPosition(tree["city"]),
            acting=tree["acting"],
            email=long_email,
        )
    assert refused.value.field == "email"
