"""Second-factor helpers for tests: a TOTP device factory and a verified login.

Users who need a second factor (三员, 签发人, staff) are sent to the OTP step by
`AccountPolicyMiddleware` until a device has verified them, so `client.force_login(user)` alone
is not enough for them: use `login_verified(client, user)`.
"""

from __future__ import annotations

from typing import Any

import factory
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from factory.django import DjangoModelFactory

from egov.orgs.models import User
from egov.orgs.tests.factories import UserFactory


class TOTPDeviceFactory(DjangoModelFactory[TOTPDevice]):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "TOTP"
    confirmed = True


def current_code(device: TOTPDevice) -> str:
    """The code an authenticator app would show now for this device."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def login_verified(client: Client, user: User, **device_fields: Any) -> TOTPDevice:
    """Log `user` in as if they had passed both the password and the TOTP step."""
    device = TOTPDevice.objects.filter(
        user=user, confirmed=True
    ).first() or TOTPDeviceFactory.create(user=user, **device_fields)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
