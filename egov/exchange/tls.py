"""The HTTP client side of node-to-node traffic (the worker's POSTs to a peer's inbox, the directory
fetch), with mutual TLS when configured.

The envelope signature authenticates the sender whatever the transport; mutual TLS in deployment
keeps everyone but the province's nodes away from the inbox. A node presents its node
certificate (`server_tls` profile: serverAuth + clientAuth) as the client certificate and checks
the peer's server certificate against the province root:

    EGOV_EXCHANGE_TLS_CERT   PEM: this node's certificate (followed by the issuing CA certificate)
    EGOV_EXCHANGE_TLS_KEY    PEM: its private key (may be in the CERT file instead)
    EGOV_EXCHANGE_TLS_CA     PEM: the CA certificates to trust for peers (the province root);
                             unset: the system's trust store
"""

from __future__ import annotations

from typing import Any

import requests

from egov.exchange.conf import setting_str


class NodeSession(requests.Session):
    """A session whose configured CA wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the
    environment (plain requests lets the environment override a session's `verify`)."""

    trusted_ca: str = ""

    def merge_environment_settings(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        merged: dict[str, Any] = super().merge_environment_settings(*args, **kwargs)
        if self.trusted_ca:
            merged["verify"] = self.trusted_ca
        return merged


def node_session() -> requests.Session:
    """A requests session set up for talking to other nodes (client certificate, trusted CA)."""
    session = NodeSession()
    cert = setting_str("EGOV_EXCHANGE_TLS_CERT")
    key = setting_str("EGOV_EXCHANGE_TLS_KEY")
    if cert:
        session.cert = (cert, key) if key else cert
    ca = setting_str("EGOV_EXCHANGE_TLS_CA")
    if ca:
        session.verify = ca
        session.trusted_ca = ca
    return session
