"""The Django admin for operators, behind the same login as everything else plus a second factor.

`EgovAdminConfig` replaces "django.contrib.admin" in INSTALLED_APPS, so `admin.site` is built by
`make_admin_site()`: a django-otp `OTPAdminSite` that lets staff in only after a TOTP device has
verified them. Its login page is our own (`accounts:login`), so lockout, audit and the OTP step
apply to the admin too.

This module is imported while the app registry loads, so everything that touches models is
imported inside the functions.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from django.contrib.admin.apps import AdminConfig

if TYPE_CHECKING:
    from django.contrib.admin import AdminSite


@cache
def admin_site_class() -> type[AdminSite]:
    from urllib.parse import urlencode

    from django.contrib.auth import REDIRECT_FIELD_NAME
    from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
    from django.urls import reverse
    from django.utils.translation import gettext_lazy as _
    from django.views.decorators.http import require_POST
    from django_otp.admin import OTPAdminSite

    from egov.orgs import identity

    @require_POST
    def admin_logout(request: HttpRequest) -> HttpResponse:
        identity.do_logout(request)
        return HttpResponseRedirect(reverse("accounts:login"))

    class EgovAdminSite(OTPAdminSite):
        """Admin for staff verified by a second factor; logs in and out through accounts/."""

        site_header = _("egov administration")
        site_title = _("egov administration")

        def __init__(self, name: str = "admin"):
            super().__init__(name)

        def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
            if request.method == "GET" and self.has_permission(request):
                return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
            target = request.GET.get(REDIRECT_FIELD_NAME) or reverse(
                "admin:index", current_app=self.name
            )
            query = urlencode({REDIRECT_FIELD_NAME: target})
            return HttpResponseRedirect(f"{reverse('accounts:login')}?{query}")

        def logout(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
            return admin_logout(request)

        def password_change(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
            # Django's own form would skip the password history, `password_changed_at` and the
            # audit event: staff change their password on the accounts page like everyone.
            index = reverse("admin:index", current_app=self.name)
            query = urlencode({REDIRECT_FIELD_NAME: index})
            return HttpResponseRedirect(f"{reverse('accounts:password_change')}?{query}")

        def password_change_done(
            self, request: HttpRequest, extra_context: Any = None
        ) -> HttpResponse:
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))

    return EgovAdminSite


def make_admin_site() -> AdminSite:
    return admin_site_class()()


class EgovAdminConfig(AdminConfig):
    default_site = "egov.orgs.admin_site.make_admin_site"
