"""Factories for API tests (devices, notifications, TOTP devices)."""

from __future__ import annotations

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice
from factory.django import DjangoModelFactory

from egov.api.auth import hash_token
from egov.api.models import ApiDevice
from egov.core.models import Notification
from egov.orgs.tests.factories import UserFactory


class ApiDeviceFactory(DjangoModelFactory[ApiDevice]):
    class Meta:
        model = ApiDevice

    user = factory.SubFactory(UserFactory)
    device_id = factory.Sequence(lambda n: f"device-{n}")
    name = "测试手机"
    refresh_token_hash = factory.Sequence(lambda n: hash_token(f"unused-{n}"))


class NotificationFactory(DjangoModelFactory[Notification]):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    kind = "test.kind"
    title = factory.Sequence(lambda n: f"通知{n}")
    body = "正文"
    url = "/"


class TOTPDeviceFactory(DjangoModelFactory[TOTPDevice]):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "authenticator"
    confirmed = True
