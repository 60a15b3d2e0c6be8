"""The node-to-node endpoints (the inbox, authenticated by the envelope signature itself; the
signed node directory) and the clerks' exchange console."""

from __future__ import annotations

import tempfile
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.exchange import directory, selectors, services
from egov.exchange.choices import DeliveryState
from egov.exchange.envelope import BLOCK, SPOOL_BYTES, max_envelope_bytes, package_bytes
from egov.exchange.models import Directory
from egov.exchange.receiving import receive_package
from egov.orgs.models import User

PAGE_SIZE = 50


def _refusal(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "details": []}, status=status)


@csrf_exempt
@require_POST
def inbox(request: HttpRequest) -> HttpResponse:
    """POST /exchange/inbox: the body is an envelope; the answer its signed reply envelope."""
    limit = max_envelope_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _refusal("too_large", "the package is larger than allowed", 413)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        size = 0
        while block := request.read(BLOCK):
            size += len(block)
            if size > limit:
                return _refusal("too_large", "the package is larger than allowed", 413)
            spool.write(block)
        spool.seek(0)
        outcome = receive_package(spool, size=size)
    if outcome.reply is None:
        return _refusal(outcome.code, outcome.message)
    response = HttpResponse(outcome.reply, content_type="application/zip")
    response["X-Exchange-Reply"] = outcome.reply_kind
    if outcome.duplicate:
        response["X-Exchange-Duplicate"] = "1"
    return response


@require_GET
def directory_document(request: HttpRequest) -> HttpResponse:
    """GET /exchange/directory: the signed node directory in force here (`?serial=N`: an older
    one), a zip of directory.json and directory.p7s. Anyone may read it; the signature is what
    a node trusts, not the connection."""
    serial = request.GET.get("serial", "")
    if serial:
        if not serial.isdigit() or len(serial) > 18:
            return _refusal("bad_serial", "serial is a positive integer")
        row = Directory.objects.filter(serial=int(serial)).first()
    else:
        row = directory.current_directory()
    if row is None:
        return _refusal("no_directory", "no directory here", 404)
    etag = f'"{row.sha256}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(
            directory.package(bytes(row.document), bytes(row.signature)),
            content_type="application/zip",
        )
        response["Content-Disposition"] = f'attachment; filename="directory-{row.serial}.zip"'
    response["ETag"] = etag
    response["X-Directory-Serial"] = str(row.serial)
    response["Cache-Control"] = "no-cache"
    return response


def _clerk(request: HttpRequest) -> User:
    user = cast(User, request.user)
    if not selectors.is_clerk(user):
        raise Http404("Not a clerk.")
    return user


@login_required
@require_GET
def console(request: HttpRequest) -> HttpResponse:
    user = _clerk(request)
    state = request.GET.get("state", "")
    if state not in DeliveryState.values:
        state = ""
    peer = request.GET.get("peer", "")[:50]
    recipient = request.GET.get("recipient", "")[:100]
    rows = selectors.list_deliveries_for(user, state=state, peer=peer, recipient=recipient)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context: dict[str, Any] = {
        "summary": selectors.console_for(user),
        "page": page,
        "query": params.urlencode(),
        "state": state,
        "peer": peer,
        "recipient": recipient,
        "states": DeliveryState.choices,
    }
    return render(request, "exchange/console.html", context)


@login_required
@require_POST
def retry(request: HttpRequest, envelope_id: str) -> HttpResponse:
    user = _clerk(request)
    delivery = selectors.access_delivery_by_id(user, envelope_id)
    try:
        services.do_retry_delivery(delivery, acting=Acting.from_request(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The delivery is queued again."))
    return redirect("exchange:console")


@login_required
@require_POST
def retry_failed(request: HttpRequest) -> HttpResponse:
    """Retry every failed delivery the console's filters (peer, recipient) select."""
    user = _clerk(request)
    peer = request.POST.get("peer", "")[:50]
    recipient = request.POST.get("recipient", "")[:100]
    rows = selectors.list_deliveries_for(
        user, state=DeliveryState.FAILED, peer=peer, recipient=recipient
    )
    count = services.do_retry_failed(rows, acting=Acting.from_request(request))
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)d delivery is queued again.",
                "%(count)d deliveries are queued again.",
                count,
            )
            % {"count": count},
        )
    else:
        messages.info(request, _("No failed delivery to retry."))
    return redirect("exchange:console")


@login_required
@require_GET
def envelope_download(request: HttpRequest, envelope_id: str) -> HttpResponse:
    """The envelope as sent (evidence: `manage.py exchange verify FILE` or stock OpenSSL)."""
    user = _clerk(request)
    delivery = selectors.access_delivery_by_id(user, envelope_id)
    data = package_bytes(bytes(delivery.manifest), bytes(delivery.signature))
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{delivery.envelope_id}.zip"'
    return response
