from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from egov.core.acting import Acting
from egov.exchange.registry import register_payload_kind, unregister_payload_kind
from egov.exchange.services import PartInput, store_parts
from egov.exchange.tests.handlers import KIND, NoticeHandler
from egov.orgs.models import Organisation
from egov.orgs.tests.factories import OrganisationFactory
from egov.pki import services as pki

SYSTEM = Acting.system("test")


@pytest.fixture(autouse=True)
def _exchange_settings(settings: Any, tmp_path: Path) -> None:
    settings.EGOV_PKI_KEK = "test-key-encryption-key-0123456789abcdef"
    settings.EGOV_PKI_KEK_FILE = str(tmp_path / "pki-kek")
    settings.EGOV_EXCHANGE_DIR = str(tmp_path / "exchange")
    settings.EGOV_NODE_CODE = "node-a"


@pytest.fixture
def handler() -> Iterator[NoticeHandler]:
    h = NoticeHandler()
    register_payload_kind(KIND, h)
    yield h
    unregister_payload_kind(KIND)


@pytest.fixture
def ca(db: Any) -> Any:
    return pki.do_init_hierarchy(acting=SYSTEM)


@pytest.fixture
def office(ca: Any) -> Any:
    """The provincial general office with a seal certificate."""
    org: Organisation = OrganisationFactory(name="河北省人民政府办公厅")
    pki.do_issue_demo_seals([org], acting=SYSTEM)
    return org


@pytest.fixture
def cities(ca: Any, office: Any) -> list[Any]:
    orgs = [OrganisationFactory(name=f"市政府{i}") for i in range(3)]
    pki.do_issue_demo_seals(orgs, acting=SYSTEM)
    return orgs


@pytest.fixture
def parts(tmp_path: Path) -> list[Any]:
    return store_parts(
        [
            PartInput("notice.pdf", "application/pdf", io.BytesIO(b"%PDF-1.7 notice " * 1000)),
            PartInput("附件1.txt", "text/plain", io.BytesIO("附件".encode() * 10)),
        ]
    )
