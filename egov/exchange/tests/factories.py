"""Factories for the exchange's rows."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from egov.exchange.choices import Transport
from egov.exchange.models import Node


class NodeFactory(DjangoModelFactory[Node]):
    class Meta:
        model = Node
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"node-{n}")
    name = factory.LazyAttribute(lambda o: o.code)
    url = "http://127.0.0.1:9"
    transport = Transport.HTTP
