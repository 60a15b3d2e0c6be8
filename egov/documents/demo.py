"""Official documents demo data: a few documents of the provincial general office in different
states of the sending flow, and one dispatched to two city governments, waiting there to be
signed for (待签收).

Builds on `egov.orgs.demo.seed_demo` (which must have run): the general office's demo drafter
(`drafter`), reviewer (`reviewer`), signing leader (`signer`) and clerk (`clerk`) act through the
real services, so the history, the audit trail, the to-dos and the notifications are the real
ones. Two receiving clerks are added for the city governments. The texts are written for this
project (no real document is copied).

Dispatch needs the seal certificates `manage.py pki init --demo` issues (for the general office
and the recipients) and the layout renderer. Without them the dispatched document stops after
sign-off, the reason is reported, and a later run — after `pki init --demo` — carries it on.

Running it twice changes nothing: a document whose title exists in the general office is left as
it is, unless it stopped after sign-off for want of seals or the layout renderer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.documents import services
from egov.documents.bodytext import text_to_body_html
from egov.documents.choices import Direction, DocType, OutgoingState, RecipientRole, Urgency
from egov.documents.models import OutgoingDocument
from egov.orgs.choices import Role
from egov.orgs.demo import (
    DEMO_PASSWORD,
    DEMO_USERS,
    DemoUser,
    demo_code,
    ensure_demo_user,
    org_specs,
)
from egov.orgs.models import Organisation, Position, User


class DemoMissing(Exception):
    """The organisation demo (`manage.py seed_demo`) has not run."""


# The general office's people of seed_demo, each holding the role the sending flow needs.
OFFICE_PEOPLE = ("drafter", "reviewer", "signer", "clerk")
# Documents to a city government are received (签收) by its clerk.
DOCUMENTS_DEMO_USERS: list[DemoUser] = [
    DemoUser("sjz_doc_clerk", "韩石机", "sjz", "机要员", Role.CLERK, "收发员（石家庄市人民政府）"),
    DemoUser(
        "ts_doc_clerk", "唐山机", "city_130200", "机要员", Role.CLERK, "收发员（唐山市人民政府）"
    ),
]
DOCUMENTS_DEMO_LOGINS: list[tuple[str, str, str]] = [
    (u.username, DEMO_PASSWORD, u.description) for u in DOCUMENTS_DEMO_USERS
]
# Organisations the demo uses (keys of `egov.orgs.demo.org_specs`).
ORG_KEYS = ("office", "sjz", "city_130200", "edu")

# The sending flow in order; a demo document is taken along it up to its stage.
FLOW = (
    OutgoingState.DRAFT,
    OutgoingState.IN_REVIEW,
    OutgoingState.AWAITING_SIGN_OFF,
    OutgoingState.SIGNED_OFF,
    OutgoingState.REGISTERED,
    OutgoingState.RENDERED,
    OutgoingState.SEALED,
    OutgoingState.DISPATCHED,
)


@dataclass(frozen=True)
class DemoDocument:
    title: str
    doc_type: str
    direction: str
    body: str  # plain lines, as a drafter types them (一、 headings and so on)
    recipients: tuple[tuple[str, str], ...]  # (org key, 主送/抄送)
    stage: str  # an OutgoingState of FLOW
    urgency: str = Urgency.NORMAL
    reply_in_days: int = 0  # reply due this many days after today (0: none)
    review_comment: str = ""
    sign_off_comment: str = ""


DEMO_DOCUMENTS: list[DemoDocument] = [
    DemoDocument(
        title="关于进一步规范政务信息报送工作的通知",
        doc_type=DocType.NOTICE,
        direction=Direction.DOWNWARD,
        body=(
            "为进一步提高政务信息报送质量和时效，现就有关事项通知如下。\n"
            "一、明确报送内容\n"
            "各地要围绕省委、省政府重点工作，及时报送工作进展、经验做法和苗头性问题。\n"
            "二、严格报送时限\n"
            "紧急重大情况须在事发后30分钟内电话报告、1小时内书面报告。\n"
            "三、落实工作责任\n"
            "各地要明确分管领导和信息员，建立信息报送台账。"
        ),
        recipients=(("sjz", RecipientRole.MAIN), ("city_130200", RecipientRole.MAIN)),
        stage=OutgoingState.DRAFT,
    ),
    DemoDocument(
        title="关于商请提供2025年度教育领域政务公开工作情况的函",
        doc_type=DocType.LETTER,
        direction=Direction.PARALLEL,
        body=(
            "为做好全省政务公开年度报告编制工作，请你厅于本月底前提供本年度教育领域"
            "政务公开工作情况，包括主动公开信息数量、依申请公开办理情况和存在的问题。\n"
            "联系人：省政府办公厅政务公开办公室（演示）。"
        ),
        recipients=(("edu", RecipientRole.MAIN),),
        stage=OutgoingState.IN_REVIEW,
    ),
    DemoDocument(
        title="关于做好冬春季森林草原防灭火工作的通知",
        doc_type=DocType.NOTICE,
        direction=Direction.DOWNWARD,
        body=(
            "当前我省进入森林草原防火紧要期，为切实做好防灭火工作，现就有关事项通知如下。\n"
            "一、压实防火责任\n"
            "各地要落实地方行政首长负责制，逐级签订防火责任书。\n"
            "二、强化火源管控\n"
            "加强重点区域、重要时段巡查，严禁野外违规用火。\n"
            "三、做好应急准备\n"
            "加强扑火队伍建设和物资储备，严格执行24小时值班和领导带班制度。"
        ),
        recipients=(("sjz", RecipientRole.MAIN), ("city_130200", RecipientRole.MAIN)),
        stage=OutgoingState.AWAITING_SIGN_OFF,
        urgency=Urgency.URGENT,
        review_comment="文字已核，建议签发。",
    ),
    DemoDocument(
        title="关于做好岁末年初安全生产工作的通知",
        doc_type=DocType.NOTICE,
        direction=Direction.DOWNWARD,
        body=(
            "岁末年初是安全生产事故易发多发期，为切实保障人民群众生命财产安全，"
            "现就有关事项通知如下。\n"
            "一、开展隐患排查\n"
            "各地要组织开展安全生产大检查，重点检查危险化学品、道路交通、建筑施工等领域。\n"
            "二、加强值班值守\n"
            "严格落实24小时值班和领导带班制度，确保信息报送渠道畅通。\n"
            "三、及时报送情况\n"
            "请于规定时限内将隐患排查整治情况报省政府办公厅。"
        ),
        recipients=(("sjz", RecipientRole.MAIN), ("city_130200", RecipientRole.MAIN)),
        stage=OutgoingState.DISPATCHED,
        urgency=Urgency.URGENT,
        reply_in_days=10,
        review_comment="同意。",
        sign_off_comment="同意印发。",
    ),
]


@dataclass
class DocumentsDemoResult:
    users_created: int = 0
    documents_created: int = 0
    steps_taken: int = 0
    delivered: int = 0
    skipped: list[str] = field(default_factory=list)  # why a document stopped short
    documents: dict[str, OutgoingDocument] = field(default_factory=dict)


def demo_organisations() -> dict[str, Organisation]:
    """The organisations of seed_demo the demo uses; DemoMissing if seed_demo has not run."""
    specs = org_specs()
    codes = {spec.key: demo_code(i + 1, spec.division) for i, spec in enumerate(specs)}
    wanted = {key: codes[key] for key in ORG_KEYS}
    found = {o.code: o for o in Organisation.objects.filter(code__in=wanted.values())}
    missing = [key for key, code in wanted.items() if code not in found]
    present = set(
        User.objects.filter(username__in=OFFICE_PEOPLE).values_list("username", flat=True)
    )
    missing += [name for name in OFFICE_PEOPLE if name not in present]
    if missing:
        raise DemoMissing(", ".join(missing))
    return {key: found[code] for key, code in wanted.items()}


def layout_available() -> bool:
    """Whether the layout renderer (印制) is installed in this build."""
    try:
        from egov.documents.layout import render_pdf  # noqa: F401
    except ImportError:
        return False
    return True


def missing_seals(orgs: list[Organisation]) -> list[Organisation]:
    """The organisations without a valid seal certificate on this node."""
    from egov.exchange.sealing import NoSeal, seal_for

    missing = []
    for org in orgs:
        try:
            seal_for(org)
        except NoSeal:
            missing.append(org)
    return missing


def _acting_as(username: str, organisation: Organisation) -> Acting:
    user = User.objects.get(username=username)
    position = (
        Position.objects.filter(user=user, organisation=organisation, is_active=True)
        .order_by("id")
        .first()
    )
    return Acting(user=user, position=position, label="seed_documents_demo")


def _ensure_people(orgs: dict[str, Organisation], result: DocumentsDemoResult) -> None:
    system = Acting.system("seed_documents_demo")
    office_specs = [u for u in DEMO_USERS if u.username in OFFICE_PEOPLE]
    for spec in office_specs:  # present already (seed_demo); re-grants a role taken away
        ensure_demo_user(spec, orgs["office"], acting=system)
    for spec in DOCUMENTS_DEMO_USERS:
        _user, created, _granted = ensure_demo_user(spec, orgs[spec.org_key], acting=system)
        result.users_created += int(created)


def _create(demo: DemoDocument, orgs: dict[str, Organisation], drafter: Acting) -> OutgoingDocument:
    today = timezone.localdate()
    data = services.DraftData(
        doc_type=demo.doc_type,
        direction=demo.direction,
        title=demo.title,
        body=text_to_body_html(demo.body),
        urgency=demo.urgency,
        reply_due=today + timedelta(days=demo.reply_in_days) if demo.reply_in_days else None,
        recipients=[(orgs[key], role) for key, role in demo.recipients],
    )
    return services.do_create_draft(orgs["office"], data, acting=drafter)


def _blocker(doc: OutgoingDocument) -> str:
    """Why the document cannot be registered, laid out, sealed and dispatched now ('' if it can)."""
    if not layout_available():
        return _("the layout renderer (egov.documents.layout) is not installed")
    recipients = [d.organisation for d in doc.distribution.select_related("organisation")]
    missing = missing_seals([doc.organisation, *recipients])
    if missing:
        return _(
            "no seal certificate for %(orgs)s — run `manage.py pki init --demo`, then this "
            "command again"
        ) % {"orgs": "、".join(o.name for o in missing)}
    return ""


def _advance(
    demo: DemoDocument,
    doc: OutgoingDocument,
    people: dict[str, Acting],
    result: DocumentsDemoResult,
) -> OutgoingDocument:
    """Take the document step by step to its demo stage."""
    reviewer = cast(User, people["reviewer"].user)
    steps: dict[str, Callable[[OutgoingDocument], OutgoingDocument]] = {
        OutgoingState.DRAFT: lambda d: services.do_submit(d, [reviewer], acting=people["drafter"]),
        OutgoingState.IN_REVIEW: lambda d: services.do_review(
            d, approve=True, comment=demo.review_comment, acting=people["reviewer"]
        ),
        OutgoingState.AWAITING_SIGN_OFF: lambda d: services.do_sign_off(
            d, approve=True, comment=demo.sign_off_comment, acting=people["signer"]
        ),
        OutgoingState.SIGNED_OFF: lambda d: services.do_register(
            d if d.rechecked_at else services.do_recheck(d, acting=people["clerk"]),
            acting=people["clerk"],
        ),
        OutgoingState.REGISTERED: lambda d: services.do_render(d, acting=people["clerk"]),
        OutgoingState.RENDERED: lambda d: services.do_seal(d, acting=people["clerk"]),
        OutgoingState.SEALED: lambda d: services.do_dispatch(d, acting=people["clerk"]),
    }
    target = FLOW.index(OutgoingState(demo.stage))
    while doc.state in FLOW and FLOW.index(OutgoingState(doc.state)) < target:
        if doc.state == OutgoingState.SIGNED_OFF:
            reason = _blocker(doc)
            if reason:
                result.skipped.append(f"{doc.title}: {reason}")
                return doc
        doc = steps[doc.state](doc)
        doc.refresh_from_db()
        result.steps_taken += 1
    return doc


def _deliver(doc: OutgoingDocument, result: DocumentsDemoResult) -> None:
    """Hand the dispatched copies to the recipients now (the exchange worker would within the
    minute), so the demo opens with the document waiting there to be signed for."""
    from egov.exchange import worker
    from egov.exchange.choices import DeliveryState
    from egov.exchange.models import Delivery

    envelopes = [e for e in doc.distribution.values_list("envelope_id", flat=True) if e]
    if not Delivery.objects.filter(envelope_id__in=envelopes, state=DeliveryState.PENDING).exists():
        return
    result.delivered += worker.run_once().delivered


def seed_documents_demo() -> DocumentsDemoResult:
    """Create whatever of the documents demo is missing; change nothing else."""
    result = DocumentsDemoResult()
    orgs = demo_organisations()
    _ensure_people(orgs, result)
    people = {name: _acting_as(name, orgs["office"]) for name in OFFICE_PEOPLE}
    existing = {
        d.title: d
        for d in OutgoingDocument.objects.filter(
            organisation=orgs["office"], title__in=[d.title for d in DEMO_DOCUMENTS]
        )
    }
    for demo in DEMO_DOCUMENTS:
        doc = existing.get(demo.title)
        created = doc is None
        if doc is None:
            doc = _create(demo, orgs, people["drafter"])
            result.documents_created += 1
        # A document already there is left as it is (people may have worked on it), except one
        # an earlier run stopped after sign-off for want of seals or the layout renderer.
        resumable = FLOW.index(OutgoingState(doc.state)) >= FLOW.index(OutgoingState.SIGNED_OFF)
        if created or resumable:
            try:
                doc = _advance(demo, doc, people, result)
            except DomainError as exc:
                result.skipped.append(f"{demo.title}: {exc.message}")
        if doc.state == OutgoingState.DISPATCHED:
            _deliver(doc, result)
        result.documents[demo.title] = doc
    return result
