from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from egov.core.acting import Acting
from egov.pki import services


@pytest.fixture(autouse=True)
def _pki_kek(settings: Any, tmp_path: Path) -> None:
    settings.EGOV_PKI_KEK = "test-key-encryption-key-0123456789abcdef"
    settings.EGOV_PKI_KEK_FILE = str(tmp_path / "pki-kek")
    settings.EGOV_PKI_DNS_ZONES = ["hebei.gov.cn"]


@pytest.fixture
def ca(db: Any) -> services.InitResult:
    return services.do_init_hierarchy(acting=Acting.system("test"))


@pytest.fixture
def ocsp_server(transactional_db: Any, live_server: Any) -> Any:
    """The live server for `openssl ocsp`; the audit rows it leaves are removed afterwards so the
    transactional flush is not refused by the audit trail's delete guard."""
    from django.db import connection

    yield live_server
    with connection.cursor() as cursor:
        cursor.execute("SELECT retention_days FROM core_auditguard WHERE id = 1")
        row = cursor.fetchone()
        cursor.execute("UPDATE core_auditguard SET retention_days = 0 WHERE id = 1")
        cursor.execute("DELETE FROM core_auditevent")
        if row is not None:
            cursor.execute("UPDATE core_auditguard SET retention_days = %s WHERE id = 1", [row[0]])
