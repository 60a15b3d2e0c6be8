"""Supervision demo data: a dozen supervised tasks of the provincial general office, in every state.

Builds on `egov.orgs.demo.seed_demo` (which must have run). Every step goes through the real
services — acting as the demo supervisor (`supervisor`, 督查员 of the general office) and as
the units' demo clerks and handlers — so the history, the audit trail and the notifications are
the real ones. The tasks are written for this project (no real document is copied).

Deadlines are counted in working days from today (`egov.core.calendar`), so the dashboard looks
right whenever the demo is loaded: one task is overdue (red), one is due within three working
days (blue), one has an extension waiting for a decision. The services refuse a deadline in the
past, so the overdue task is registered with a future deadline and then moved into the past by
`_shape_overdue` — demo-only data shaping, never done by the services.

Running it twice changes nothing: a task whose title already exists in the general office is
left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from egov.core.acting import Acting
from egov.core.calendar import WorkingCalendar
from egov.orgs.choices import Role
from egov.orgs.demo import DEMO_PASSWORD, DemoUser, demo_code, ensure_demo_user, org_specs
from egov.orgs.models import Organisation, Position, User
from egov.supervision import services
from egov.supervision.choices import ReportCycle, Satisfaction, TaskSource
from egov.supervision.models import SupervisionTask


class DemoMissing(Exception):
    """The organisation demo (`manage.py seed_demo`) has not run."""


# seed_demo has one 承办人 (`handler`, general office) and clerks in the general office, the
# education department and Shijiazhuang; these handlers let the lead units report and close.
SUPERVISION_DEMO_USERS: list[DemoUser] = [
    DemoUser(
        "sjz_handler", "韩石办", "sjz_office", "科员", Role.HANDLER, "承办人（石家庄市政府办）"
    ),
    DemoUser("edu_handler", "蒋教办", "edu", "科员", Role.HANDLER, "承办人（省教育厅）"),
    DemoUser(
        "fgw_handler", "程发改", "dept_冀发改", "科员", Role.HANDLER, "承办人（省发展改革委）"
    ),
]

SUPERVISION_DEMO_LOGINS: list[tuple[str, str, str]] = [
    (u.username, DEMO_PASSWORD, u.description) for u in SUPERVISION_DEMO_USERS
]

# Organisations the demo needs (keys of `egov.orgs.demo.org_specs`).
ORG_KEYS = (
    "office",
    "sjz_office",
    "edu",
    "dept_冀发改",
    "dept_冀财",
    "dept_冀建",
    "dept_冀环",
    "dept_冀农",
    "city_130200",
    "city_130600",
)
# People of seed_demo the demo acts as.
SEED_USERS = ("supervisor", "handler", "clerk", "sjz_clerk", "edu_clerk")

# Who acts for each lead unit (the handler reports and applies; the clerk may sign in).
UNIT_HANDLER = {
    "office": "handler",
    "sjz_office": "sjz_handler",
    "edu": "edu_handler",
    "dept_冀发改": "fgw_handler",
}


@dataclass(frozen=True)
class DemoTask:
    """One demo task: its 五定, where it is assigned and how far it has gone."""

    title: str
    source: str
    source_reference: str
    requirement: str
    quality_standard: str
    leader: str
    person: str
    working_days: int  # deadline: today + this many working days
    stage: str  # registered, approved, assigned, in_progress, extension, closing, done, archived
    lead: str = ""
    co: tuple[str, ...] = ()
    reports: tuple[tuple[int, str], ...] = ()
    evidence: str = ""
    quality: int = 90
    satisfaction: str = ""
    monthly: bool = False
    overdue_by: int = 0  # working days past the deadline (demo-only shaping)
    urge: str = ""


DEMO_TASKS: list[DemoTask] = [
    DemoTask(
        title="推进全省政务服务“高效办成一件事”第二批重点事项落地",
        source=TaskSource.LEADER_INSTRUCTION,
        source_reference="省政府主要领导在省政府办公厅《政务信息》上的批示（演示）",
        requirement="梳理第二批重点事项清单，明确牵头部门和时间表，形成工作方案报省政府。",
        quality_standard="工作方案经省政府常务会议审议；事项清单逐项明确责任单位。",
        leader="省政府秘书长",
        person="郑督查",
        working_days=40,
        stage="registered",
    ),
    DemoTask(
        title="落实省政府常务会议关于冬春季农村饮水安全保障的部署",
        source=TaskSource.MEETING_DECISION,
        source_reference="省政府第××次常务会议纪要（演示）",
        requirement="排查农村供水工程冬季运行隐患，制定应急供水预案。",
        quality_standard="隐患排查全覆盖，预案报省水利厅备案。",
        leader="分管副省长",
        person="郑督查",
        working_days=25,
        stage="approved",
    ),
    DemoTask(
        title="贯彻《河北省优化营商环境若干措施》涉企收费专项清理",
        source=TaskSource.KEY_DOCUMENT,
        source_reference="冀政办字〔2026〕××号（演示）",
        requirement="清理市本级涉企收费项目，取消无依据收费，公开保留项目目录清单。",
        quality_standard="目录清单在市政府门户网站公开；清理结果报省发展改革委。",
        leader="石家庄市分管副市长",
        person="韩石收",
        working_days=30,
        stage="assigned",
        lead="sjz_office",
        co=("dept_冀发改",),
    ),
    DemoTask(
        title="办理省人大代表关于加快县域中小学校舍改造的建议",
        source=TaskSource.NPC_SUGGESTION,
        source_reference="省十四届人大×次会议第××号建议（演示）",
        requirement="研究提出答复意见，与代表当面沟通后书面答复。",
        quality_standard="按期答复，代表沟通记录齐全。",
        leader="省教育厅分管厅长",
        person="蒋教收",
        working_days=35,
        stage="assigned",
        lead="edu",
        co=("dept_冀财",),
    ),
    DemoTask(
        title="办理省政协委员关于提升12345政务服务便民热线响应效率的提案",
        source=TaskSource.CPPCC_PROPOSAL,
        source_reference="省政协十三届×次会议第××号提案（演示）",
        requirement="研究热线工单分办和回访机制的改进措施，答复委员。",
        quality_standard="按期答复，改进措施具体可行。",
        leader="省政府办公厅副主任",
        person="刘文收",
        working_days=28,
        stage="assigned",
        lead="office",
    ),
    DemoTask(
        title="完成省政府门户网站政务公开专栏年度内容更新",
        source=TaskSource.MEETING_DECISION,
        source_reference="省政府办公厅主任办公会议（演示）",
        requirement="更新政策文件库和解读栏目，补齐年度主动公开目录。",
        quality_standard="专栏内容完整准确，无过期链接。",
        leader="省政府办公厅副主任",
        person="孙承办",
        working_days=2,
        stage="in_progress",
        lead="office",
        reports=((70, "政策文件库已更新，正在校对解读栏目。"),),
    ),
    DemoTask(
        title="督促落实中小学课后服务经费保障问题整改",
        source=TaskSource.LEADER_INSTRUCTION,
        source_reference="分管副省长在群众来信上的批示（演示）",
        requirement="核实课后服务经费拨付情况，督促相关市县限期整改并报告结果。",
        quality_standard="整改到位，形成书面报告报省政府办公厅。",
        leader="分管副省长",
        person="蒋教办",
        working_days=15,
        overdue_by=3,
        stage="in_progress",
        lead="edu",
        co=("city_130600",),
        reports=((40, "已完成5个市的核查，其余市正在核查中。"),),
        urge="该事项已超期，请于两个工作日内报送整改进展和办结时限。",
    ),
    DemoTask(
        title="推进石家庄市老旧小区改造年度任务",
        source=TaskSource.KEY_DOCUMENT,
        source_reference="冀政字〔2026〕××号（演示）",
        requirement="按月报送开工和完工小区数量，年底前完成年度改造任务。",
        quality_standard="年度任务全部完工，居民满意度调查结果附后。",
        leader="石家庄市分管副市长",
        person="韩石办",
        working_days=60,
        stage="in_progress",
        lead="sjz_office",
        co=("dept_冀建",),
        monthly=True,
        reports=((35, "已开工42个小区，完工15个。"), (55, "已开工58个小区，完工27个。")),
    ),
    DemoTask(
        title="办理省政协委员关于加强京津冀大气污染联防联控的提案",
        source=TaskSource.CPPCC_PROPOSAL,
        source_reference="省政协十三届×次会议第××号提案（演示）",
        requirement="会同相关部门研究提出办理意见，答复委员。",
        quality_standard="答复内容具体可行，委员沟通记录齐全。",
        leader="省发展改革委分管副主任",
        person="程发改",
        working_days=20,
        stage="extension",
        lead="dept_冀发改",
        co=("dept_冀环",),
        reports=((50, "已征求省生态环境厅意见，正在起草答复。"),),
    ),
    DemoTask(
        title="落实全省春季农业生产工作会议部署的种子储备任务",
        source=TaskSource.MEETING_DECISION,
        source_reference="全省春季农业生产工作会议（演示）",
        requirement="完成省级救灾备荒种子储备计划，落实储备企业。",
        quality_standard="储备品种和数量达到计划要求，储备合同齐全。",
        leader="分管副省长",
        person="程发改",
        working_days=12,
        stage="closing",
        lead="dept_冀发改",
        co=("dept_冀农",),
        reports=((80, "储备计划已下达，储备企业合同正在签订。"),),
        evidence="储备合同已全部签订，储备品种和数量达到计划要求，详见合同清单。",
    ),
    DemoTask(
        title="整改省级审计发现的教育专项资金管理问题",
        source=TaskSource.KEY_DOCUMENT,
        source_reference="省审计厅审计报告（演示）",
        requirement="逐项整改审计发现问题，建立专项资金管理长效机制。",
        quality_standard="问题全部整改销号，制度文件印发。",
        leader="省教育厅厅长",
        person="蒋教办",
        working_days=18,
        stage="done",
        lead="edu",
        reports=((100, "问题已全部整改，管理办法已印发。"),),
        evidence="整改台账和管理办法已印发，审计发现问题全部销号。",
        quality=92,
    ),
    DemoTask(
        title="办理省政协委员关于完善社区养老服务设施的提案",
        source=TaskSource.CPPCC_PROPOSAL,
        source_reference="省政协十三届×次会议第××号提案（演示）",
        requirement="研究提出办理意见，答复委员并抄送省政协提案委员会。",
        quality_standard="按期答复，委员满意。",
        leader="石家庄市分管副市长",
        person="韩石办",
        working_days=22,
        stage="done",
        lead="sjz_office",
        reports=((100, "已与委员当面沟通并书面答复。"),),
        evidence="答复函已送达委员并抄送省政协提案委员会，委员表示满意。",
        quality=95,
        satisfaction=Satisfaction.SATISFIED,
    ),
    DemoTask(
        title="完成省政府年度重点工作任务分解方案的印发",
        source=TaskSource.LEADER_INSTRUCTION,
        source_reference="省政府主要领导批示（演示）",
        requirement="分解年度重点工作任务，明确牵头单位和完成时限，印发执行。",
        quality_standard="分解方案经省政府同意后印发。",
        leader="省政府秘书长",
        person="孙承办",
        working_days=10,
        stage="archived",
        lead="office",
        co=("city_130200",),
        reports=((100, "分解方案已印发。"),),
        evidence="分解方案已按程序印发各市、各部门。",
        quality=88,
    ),
]

STAGES = ("registered", "approved", "assigned", "in_progress", "extension", "closing", "done")


@dataclass
class SupervisionDemoResult:
    users_created: int = 0
    tasks_created: int = 0
    tasks: dict[str, SupervisionTask] = field(default_factory=dict)

    def changed(self) -> int:
        return self.users_created + self.tasks_created


def demo_organisations() -> dict[str, Organisation]:
    """The organisations of seed_demo the demo uses; DemoMissing if seed_demo has not run."""
    specs = org_specs()
    codes = {spec.key: demo_code(i + 1, spec.division) for i, spec in enumerate(specs)}
    wanted = {key: codes[key] for key in ORG_KEYS}
    found = {o.code: o for o in Organisation.objects.filter(code__in=wanted.values())}
    missing = [key for key, code in wanted.items() if code not in found]
    present = set(User.objects.filter(username__in=SEED_USERS).values_list("username", flat=True))
    missing += [name for name in SEED_USERS if name not in present]
    if missing:
        raise DemoMissing(", ".join(missing))
    return {key: found[code] for key, code in wanted.items()}


def _ensure_user(spec: DemoUser, org: Organisation, acting: Acting) -> tuple[User, bool]:
    user, created, _granted = ensure_demo_user(spec, org, acting=acting)
    return user, created


def _acting_as(username: str) -> Acting:
    user = User.objects.get(username=username)
    position = Position.objects.filter(user=user, is_active=True).order_by("id").first()
    return Acting(user=user, position=position, label="seed_supervision_demo")


def seed_supervision_demo(*, today: date | None = None) -> SupervisionDemoResult:
    """Create whatever of the supervision demo is missing; change nothing else."""
    system = Acting.system("seed_supervision_demo")
    result = SupervisionDemoResult()
    orgs = demo_organisations()
    today = today or timezone.localdate()
    with transaction.atomic():
        for spec in SUPERVISION_DEMO_USERS:
            _user, created = _ensure_user(spec, orgs[spec.org_key], system)
            result.users_created += int(created)
        existing = {
            t.title: t
            for t in SupervisionTask.objects.filter(
                office=orgs["office"], title__in=[d.title for d in DEMO_TASKS]
            )
        }
        cal = WorkingCalendar.load(today - timedelta(days=30), today + timedelta(days=180))
        supervisor = _acting_as("supervisor")
        for demo in DEMO_TASKS:
            task = existing.get(demo.title)
            if task is None:
                task = _create(demo, orgs, cal, today, supervisor)
                result.tasks_created += 1
            result.tasks[demo.title] = task
    return result


def _create(
    demo: DemoTask,
    orgs: dict[str, Organisation],
    cal: WorkingCalendar,
    today: date,
    supervisor: Acting,
) -> SupervisionTask:
    """Register the task and take it through the services to its demo stage."""
    task = services.do_register_task(
        office=orgs["office"],
        title=demo.title,
        source=demo.source,
        source_reference=demo.source_reference,
        requirement=demo.requirement,
        quality_standard=demo.quality_standard,
        responsible_leader=demo.leader,
        responsible_person=demo.person,
        deadline=cal.add_working_days(today, demo.working_days),
        report_cycle=ReportCycle.MONTHLY if demo.monthly else ReportCycle.NONE,
        acting=supervisor,
    )
    steps: list[tuple[str, Callable[[SupervisionTask], object]]] = [
        ("approved", lambda t: services.do_approve_task(t, acting=supervisor)),
        (
            "assigned",
            lambda t: services.do_assign_task(
                t,
                lead_unit=orgs[demo.lead],
                co_units=[orgs[k] for k in demo.co],
                acting=supervisor,
            ),
        ),
    ]
    target = "done" if demo.stage == "archived" else demo.stage
    reached = STAGES.index(target)
    for stage, step in steps:
        if STAGES.index(stage) <= reached:
            step(task)
            task.refresh_from_db()
    if reached < STAGES.index("in_progress"):
        return task
    handler = _acting_as(UNIT_HANDLER[demo.lead])
    services.do_acknowledge_task(task, acting=handler)
    for percent, text in demo.reports:
        services.do_report_progress(task, text=text, percent=percent, acting=handler)
    if demo.stage == "extension":
        task.refresh_from_db()
        services.do_request_extension(
            task,
            new_deadline=cal.add_working_days(task.deadline, 10),
            reason="需会同省生态环境厅和京津两地有关部门共同研究，申请延期10个工作日。",
            acting=handler,
        )
    if reached >= STAGES.index("closing"):
        services.do_apply_close(task, evidence=demo.evidence, acting=handler)
    if reached >= STAGES.index("done"):
        services.do_review_task(
            task,
            passed=True,
            quality_score=demo.quality,
            satisfaction=demo.satisfaction,
            acting=supervisor,
        )
    if demo.stage == "archived":
        services.do_archive_task(task, acting=supervisor)
    if demo.overdue_by:
        _shape_overdue(task, cal, today, demo.overdue_by)
    if demo.urge:
        services.do_urge_task(task, text=demo.urge, acting=supervisor)
    task.refresh_from_db()
    return task


def _shape_overdue(task: SupervisionTask, cal: WorkingCalendar, today: date, days: int) -> None:
    """DEMO-ONLY DATA SHAPING: move a task's deadline into the past so the dashboard shows a red
    task. The services rightly refuse a past deadline; nothing but this demo writes the field
    directly. The sign-in deadline moves with it so the task does not look "behind" as well."""
    past = cal.add_working_days(today, -days)
    sign = cal.add_working_days(past, -10)
    SupervisionTask.objects.filter(pk=task.pk).update(
        deadline=past, original_deadline=past, sign_deadline=sign
    )
