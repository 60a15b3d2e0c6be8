"""Thin views: the CA's public endpoints and the security administrator's screens."""

from __future__ import annotations

import base64
import binascii
from typing import Any, cast
from urllib.parse import unquote

from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_der_x509_crl
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.core.forms import add_domain_error
from egov.orgs.models import User
from egov.pki import ocsp, selectors, services
from egov.pki.choices import CertificateStatus
from egov.pki.forms import CertificateFilterForm, RejectForm, RequestForm, RevokeForm
from egov.pki.models import CertificateAuthority, RevocationList

PAGE_SIZE = 50
MAX_OCSP_GET = 8 * 1024


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# --- public endpoints ------------------------------------------------------------------------


def _latest_crl(slug: str) -> RevocationList:
    crl = RevocationList.objects.filter(ca__slug=slug).order_by("-number").first()
    if crl is None:
        raise Http404("No CRL.")
    return crl


@require_http_methods(["GET", "HEAD"])
def crl_der(request: HttpRequest, slug: str) -> HttpResponse:
    crl = _latest_crl(slug)
    response = HttpResponse(bytes(crl.der), content_type="application/pkix-crl")
    response["Content-Disposition"] = f'attachment; filename="{slug}.crl"'
    return response


@require_http_methods(["GET", "HEAD"])
def crl_pem(request: HttpRequest, slug: str) -> HttpResponse:
    crl = _latest_crl(slug)
    pem = load_der_x509_crl(bytes(crl.der)).public_bytes(serialization.Encoding.PEM)
    return HttpResponse(pem, content_type="application/x-pem-file")


def _ca(slug: str) -> CertificateAuthority:
    ca = CertificateAuthority.objects.select_related("certificate").filter(slug=slug).first()
    if ca is None or ca.certificate is None:
        raise Http404("No such CA.")
    return ca


@require_http_methods(["GET", "HEAD"])
def ca_certificate(request: HttpRequest, slug: str) -> HttpResponse:
    ca = _ca(slug)
    if ca.certificate is None:
        raise RuntimeError("ca.certificate is missing")
    return HttpResponse(bytes(ca.certificate.der), content_type="application/pkix-cert")


@require_http_methods(["GET", "HEAD"])
def ca_certificate_pem(request: HttpRequest, slug: str) -> HttpResponse:
    ca = _ca(slug)
    if ca.certificate is None:
        raise RuntimeError("ca.certificate is missing")
    pem = ca.certificate.x509.public_bytes(serialization.Encoding.PEM)
    return HttpResponse(pem, content_type="application/x-pem-file")


def _ocsp_response(der: bytes) -> HttpResponse:
    response = HttpResponse(ocsp.respond(der), content_type="application/ocsp-response")
    response["Cache-Control"] = "no-cache"
    return response


@csrf_exempt
@require_POST
def ocsp_post(request: HttpRequest) -> HttpResponse:
    if len(request.body) > ocsp.MAX_REQUEST_BYTES:
        return _ocsp_response(b"")
    return _ocsp_response(request.body)


@require_http_methods(["GET", "HEAD"])
def ocsp_get(request: HttpRequest, encoded: str) -> HttpResponse:
    """RFC 6960 appendix A.1: GET {url}/{url-encoding of base-64 encoding of the DER request}."""
    if len(encoded) > MAX_OCSP_GET:
        return _ocsp_response(b"")
    try:
        der = base64.b64decode(unquote(encoded), validate=False)
    except (binascii.Error, ValueError):
        der = b""
    return _ocsp_response(der)


# --- the security administrator's screens ----------------------------------------------------


@login_required
def certificate_list(request: HttpRequest, view: str = "all") -> HttpResponse:
    user = _user(request)
    selectors.require_security_admin(user)
    scope = selectors.security_scope(user)
    form = CertificateFilterForm(request.GET or None, scope=scope)
    organisation = None
    q = ""
    if form.is_bound and form.is_valid():
        organisation = form.cleaned_data["organisation"]
        q = form.cleaned_data["q"]
    qs = selectors.list_certificates_for(
        user,
        organisation=organisation,
        status=CertificateStatus.REVOKED if view == "revoked" else "",
        expiring=view == "expiring",
        q=q,
    )
    if view == "revoked":
        qs = qs.order_by("-revoked_at", "-id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "pki/certificate_list.html",
        {"page": page, "form": form, "view": view, "query": params.urlencode()},
    )


@login_required
def certificate_detail(request: HttpRequest, cert_id: Any) -> HttpResponse:
    cert = selectors.access_certificate_by_id(_user(request), cert_id)
    return render(
        request, "pki/certificate_detail.html", {"cert": cert, "revoke_form": RevokeForm()}
    )


@login_required
def certificate_download(request: HttpRequest, cert_id: Any) -> HttpResponse:
    cert = selectors.access_certificate_by_id(_user(request), cert_id)
    response = HttpResponse(
        cert.x509.public_bytes(serialization.Encoding.PEM), content_type="application/x-pem-file"
    )
    response["Content-Disposition"] = f'attachment; filename="{cert.serial}.crt"'
    return response


@login_required
@require_POST
def certificate_revoke(request: HttpRequest, cert_id: Any) -> HttpResponseBase:
    cert = selectors.access_certificate_by_id(_user(request), cert_id)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            services.do_revoke_certificate(
                cert, reason=form.cleaned_data["reason"], acting=Acting.from_request(request)
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The certificate is revoked and the CRL regenerated."))
            return redirect(cert.get_absolute_url())
    return render(
        request, "pki/certificate_detail.html", {"cert": cert, "revoke_form": form}, status=400
    )


@login_required
@require_POST
def certificate_renew(request: HttpRequest, cert_id: Any) -> HttpResponseBase:
    cert = selectors.access_certificate_by_id(_user(request), cert_id)
    try:
        new = services.do_renew_certificate(cert, acting=Acting.from_request(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(cert.get_absolute_url())
    messages.success(request, _("A renewed certificate was issued."))
    return redirect(new.get_absolute_url())


def _paged(request: HttpRequest, qs: QuerySet[Any]) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    selectors.require_security_admin(user)
    page = _paged(request, selectors.list_pending_requests_for(user))
    return render(request, "pki/request_list.html", {"page": page, "query": ""})


def _holder(form: RequestForm) -> User | None:
    username = form.cleaned_data.get("holder") or ""
    if not username:
        return None
    holder = (
        User.objects.filter(
            username=username,
            is_active=True,
            positions__organisation=form.cleaned_data["organisation"],
            positions__is_active=True,
        )
        .distinct()
        .first()
    )
    if holder is None:
        raise DomainError(
            _("No active person with this user name in the organisation."), field="holder"
        )
    return holder


@login_required
@require_http_methods(["GET", "POST"])
def request_create(request: HttpRequest) -> HttpResponse | HttpResponseBase:
    user = _user(request)
    selectors.require_security_admin(user)
    form = RequestForm(
        request.POST or None, request.FILES or None, scope=selectors.security_scope(user)
    )
    if request.method == "POST" and form.is_valid():
        try:
            req = services.do_submit_request(
                form.cleaned_data["organisation"],
                profile=form.cleaned_data["profile"],
                csr=form.cleaned_data["csr"],
                generate_key_on_server=form.cleaned_data["generate_key"],
                holder=_holder(form),
                dns_names=form.cleaned_data["dns_names"],
                acting=Acting.from_request(request),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The request is waiting for review."))
            return redirect("pki:request_detail", request_id=req.uuid)
    status = 400 if request.method == "POST" else 200
    return render(request, "pki/request_form.html", {"form": form}, status=status)


@login_required
def request_detail(request: HttpRequest, request_id: Any) -> HttpResponse:
    req = selectors.access_request_by_id(_user(request), request_id)
    return render(request, "pki/request_detail.html", {"req": req, "reject_form": RejectForm()})


@login_required
@require_POST
def request_approve(request: HttpRequest, request_id: Any) -> HttpResponseBase:
    req = selectors.access_request_by_id(_user(request), request_id)
    try:
        cert = services.do_approve_request(req, acting=Acting.from_request(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return render(
            request,
            "pki/request_detail.html",
            {"req": req, "reject_form": RejectForm(), "error": exc},
            status=exc.status,
        )
    messages.success(request, _("The certificate was issued."))
    return redirect(cert.get_absolute_url())


@login_required
@require_POST
def request_reject(request: HttpRequest, request_id: Any) -> HttpResponseBase:
    req = selectors.access_request_by_id(_user(request), request_id)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            services.do_reject_request(
                req, reason=form.cleaned_data["reason"], acting=Acting.from_request(request)
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The request was rejected."))
            return redirect("pki:request_list")
    return render(request, "pki/request_detail.html", {"req": req, "reject_form": form}, status=400)
