"""The shell's own pages: home (the to-do centre), display preferences, the web-app manifest."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from egov.core.todos import todos_for

LARGE_TEXT_COOKIE = "egov_large_text"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """我的待办: what waits for this person across every subsystem, overdue first."""
    subsystem = request.GET.get("subsystem", "")
    items, summaries = todos_for(request.user, subsystem=subsystem or None, limit=50)  # type: ignore[arg-type]  # login_required
    request._todo_total = sum(s.count for s in summaries)  # type: ignore[attr-defined]  # for the nav badge
    context = {
        "items": items,
        "summaries": summaries,
        "subsystem": subsystem,
        "total": sum(s.count for s in summaries),
    }
    template = "web/_todo_list.html" if request.htmx else "web/home.html"  # type: ignore[attr-defined]  # django-htmx
    return render(request, template, context)


@login_required
def todo_list(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('web:home')}?{request.GET.urlencode()}")


@require_POST
def toggle_large_text(request: HttpRequest) -> HttpResponse:
    """适老化: a larger-text, high-contrast display, remembered in a cookie for a year."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("web:home")
    response = redirect(target)
    if request.COOKIES.get(LARGE_TEXT_COOKIE) == "1":
        response.delete_cookie(LARGE_TEXT_COOKIE)
    else:
        response.set_cookie(
            LARGE_TEXT_COOKIE, "1", max_age=365 * 24 * 3600, samesite="Lax", httponly=True
        )
    return response


@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> JsonResponse:
    """Installable web app for phones (mobile office)."""
    return JsonResponse(
        {
            "name": _("egov e-government platform"),
            "short_name": "egov",
            "start_url": reverse("web:home"),
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#1f4e79",
            "lang": request.LANGUAGE_CODE,
            "icons": [
                {"src": static("web/img/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
            ],
        },
        json_dumps_params={"ensure_ascii": False},
        content_type="application/manifest+json",
    )


@cache_control(max_age=0, no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    """A minimal service worker (served from the root so its scope is the whole site)."""
    script = (
        "self.addEventListener('install', e => self.skipWaiting());\n"
        "self.addEventListener('activate', e => self.clients.claim());\n"
        "self.addEventListener('fetch', () => {});\n"
    )
    return HttpResponse(script, content_type="text/javascript")
