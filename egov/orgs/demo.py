"""Demo data written for this project: a Hebei-shaped organisation tree and one user per role.

The names are the real shape of Hebei's government (the provincial government and its general
office, provincial departments, the 11 设区市 and a few counties with their real division
codes), but the 统一社会信用代码 are made up (valid check characters, organisation-code body
"DEM…", which no real body has). Running `seed_demo` twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from egov.core.acting import Acting
from egov.orgs import services
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, Position, User
from egov.orgs.uscc import make_uscc

DEMO_PASSWORD = "Egov@2026"  # noqa: S105  # the published demo password, refused in production

PROVINCE_DIVISION = "130000"

# (name, short name, 机关代字)
PROVINCIAL_DEPARTMENTS: list[tuple[str, str, str]] = [
    ("河北省发展和改革委员会", "省发展改革委", "冀发改"),
    ("河北省教育厅", "省教育厅", "冀教"),
    ("河北省科学技术厅", "省科技厅", "冀科"),
    ("河北省工业和信息化厅", "省工业和信息化厅", "冀工信"),
    ("河北省公安厅", "省公安厅", "冀公"),
    ("河北省民政厅", "省民政厅", "冀民"),
    ("河北省司法厅", "省司法厅", "冀司"),
    ("河北省财政厅", "省财政厅", "冀财"),
    ("河北省人力资源和社会保障厅", "省人力资源社会保障厅", "冀人社"),
    ("河北省自然资源厅", "省自然资源厅", "冀自然资"),
    ("河北省生态环境厅", "省生态环境厅", "冀环"),
    ("河北省住房和城乡建设厅", "省住房城乡建设厅", "冀建"),
    ("河北省交通运输厅", "省交通运输厅", "冀交"),
    ("河北省水利厅", "省水利厅", "冀水"),
    ("河北省农业农村厅", "省农业农村厅", "冀农"),
    ("河北省商务厅", "省商务厅", "冀商"),
    ("河北省文化和旅游厅", "省文化和旅游厅", "冀文旅"),
    ("河北省卫生健康委员会", "省卫生健康委", "冀卫"),
    ("河北省应急管理厅", "省应急管理厅", "冀应急"),
    ("河北省审计厅", "省审计厅", "冀审"),
    ("河北省市场监督管理局", "省市场监管局", "冀市监"),
]

# Internal units of the general office (处室): duty, supervision, information, e-government.
GENERAL_OFFICE_UNITS: list[tuple[str, str]] = [
    ("河北省人民政府办公厅秘书处", "秘书处"),
    ("河北省人民政府办公厅督查室", "督查室"),
    ("河北省人民政府办公厅总值班室", "总值班室"),
    ("河北省人民政府办公厅信息处", "信息处"),
    ("河北省人民政府办公厅电子政务办公室", "电子政务办"),
]

# (city, division code, one-character 代字)
CITIES: list[tuple[str, str, str]] = [
    ("石家庄", "130100", "石"),
    ("唐山", "130200", "唐"),
    ("秦皇岛", "130300", "秦"),
    ("邯郸", "130400", "邯"),
    ("邢台", "130500", "邢"),
    ("保定", "130600", "保"),
    ("张家口", "130700", "张"),
    ("承德", "130800", "承"),
    ("沧州", "130900", "沧"),
    ("廊坊", "131000", "廊"),
    ("衡水", "131100", "衡"),
]

# (department suffix, short suffix, 代字 suffix) for each city.
CITY_DEPARTMENTS: list[tuple[str, str]] = [
    ("教育局", "教"),
    ("财政局", "财"),
    ("公安局", "公"),
]

# (city division, county name, division code, 代字 prefix)
COUNTIES: list[tuple[str, str, str, str]] = [
    ("130100", "井陉县", "130121", "井"),
    ("130100", "正定县", "130123", "正"),
    ("130200", "滦南县", "130224", "滦南"),
    ("130600", "涞水县", "130623", "涞"),
    ("130600", "阜平县", "130624", "阜"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    org_key: str  # a key in the organisation table built below
    title: str
    role: str
    description: str  # in Chinese, for `make run`


DEMO_USERS: list[DemoUser] = [
    DemoUser("sysadmin", "齐立新", "province", "系统管理员", Role.SYSTEM_ADMIN, "系统管理员"),
    DemoUser("secadmin", "任安平", "province", "安全管理员", Role.SECURITY_ADMIN, "安全管理员"),
    DemoUser("auditor", "沈明审", "province", "审计管理员", Role.AUDIT_ADMIN, "审计管理员"),
    DemoUser("clerk", "刘文收", "office", "机要员", Role.CLERK, "收发员（省政府办公厅）"),
    DemoUser("drafter", "陈拟文", "office", "科员", Role.DRAFTER, "拟稿人（省政府办公厅）"),
    DemoUser("reviewer", "王核稿", "office", "处长", Role.REVIEWER, "审核人（省政府办公厅）"),
    DemoUser("signer", "赵签发", "office", "副秘书长", Role.SIGNER, "签发人（省政府办公厅）"),
    DemoUser("handler", "孙承办", "office", "科员", Role.HANDLER, "承办人（省政府办公厅）"),
    DemoUser("duty", "周值班", "office", "值班员", Role.DUTY_OFFICER, "值班员（省政府办公厅）"),
    DemoUser(
        "dutylead", "吴带班", "office", "副秘书长", Role.DUTY_LEADER, "带班领导（省政府办公厅）"
    ),
    DemoUser(
        "supervisor", "郑督查", "office", "督查专员", Role.SUPERVISOR, "督查员（省政府办公厅）"
    ),
    DemoUser("infoofficer", "冯信息", "edu", "信息员", Role.INFO_OFFICER, "信息员（省教育厅）"),
    DemoUser("editor", "褚编辑", "office", "编辑", Role.EDITOR, "编辑（省政府办公厅）"),
    DemoUser("siteadmin", "卫网站", "office", "网站管理员", Role.SITE_ADMIN, "网站管理员"),
    DemoUser("edu_clerk", "蒋教收", "edu", "收发员", Role.CLERK, "收发员（省教育厅）"),
    DemoUser("sjz_clerk", "韩石收", "sjz_office", "收发员", Role.CLERK, "收发员（石家庄市政府办）"),
]

DEMO_LOGINS: list[tuple[str, str, str]] = [
    (u.username, DEMO_PASSWORD, u.description) for u in DEMO_USERS
]


@dataclass
class SeedResult:
    organisations_created: int = 0
    users_created: int = 0
    roles_granted: int = 0
    keys: dict[str, Organisation] = field(default_factory=dict)


@dataclass(frozen=True)
class _OrgSpec:
    key: str
    parent_key: str | None
    name: str
    short_name: str
    doc_code: str
    kind: str
    level: str
    division: str


def org_specs() -> list[_OrgSpec]:
    """Parents before children."""
    province, city, county = OrgLevel.PROVINCE, OrgLevel.CITY, OrgLevel.COUNTY
    specs = [
        _OrgSpec(
            "province",
            None,
            "河北省人民政府",
            "省政府",
            "冀政",
            OrgKind.GOVERNMENT,
            province,
            PROVINCE_DIVISION,
        ),
        _OrgSpec(
            "office",
            "province",
            "河北省人民政府办公厅",
            "省政府办公厅",
            "冀政办",
            OrgKind.GENERAL_OFFICE,
            province,
            PROVINCE_DIVISION,
        ),
    ]
    for i, (name, short) in enumerate(GENERAL_OFFICE_UNITS):
        specs.append(
            _OrgSpec(
                f"office_unit{i}",
                "office",
                name,
                short,
                "",
                OrgKind.INTERNAL_UNIT,
                province,
                PROVINCE_DIVISION,
            )
        )
    for name, short, doc_code in PROVINCIAL_DEPARTMENTS:
        key = "edu" if doc_code == "冀教" else f"dept_{doc_code}"
        specs.append(
            _OrgSpec(
                key,
                "province",
                name,
                short,
                doc_code,
                OrgKind.DEPARTMENT,
                province,
                PROVINCE_DIVISION,
            )
        )
    city_keys = {}
    for city_name, division, letter in CITIES:
        gov_key = "sjz" if division == "130100" else f"city_{division}"
        city_keys[division] = gov_key
        specs.append(
            _OrgSpec(
                gov_key,
                "province",
                f"{city_name}市人民政府",
                f"{city_name}市政府",
                f"{letter}政",
                OrgKind.GOVERNMENT,
                city,
                division,
            )
        )
        specs.append(
            _OrgSpec(
                f"{gov_key}_office",
                gov_key,
                f"{city_name}市人民政府办公室",
                f"{city_name}市政府办",
                f"{letter}政办",
                OrgKind.GENERAL_OFFICE,
                city,
                division,
            )
        )
        for suffix, code_suffix in CITY_DEPARTMENTS:
            specs.append(
                _OrgSpec(
                    f"{gov_key}_{code_suffix}",
                    gov_key,
                    f"{city_name}市{suffix}",
                    f"{city_name}市{suffix}",
                    f"{letter}{code_suffix}",
                    OrgKind.DEPARTMENT,
                    city,
                    division,
                )
            )
    for city_division, county_name, division, prefix in COUNTIES:
        gov_key = f"county_{division}"
        specs.append(
            _OrgSpec(
                gov_key,
                city_keys[city_division],
                f"{county_name}人民政府",
                f"{county_name}政府",
                f"{prefix}政",
                OrgKind.GOVERNMENT,
                county,
                division,
            )
        )
        specs.append(
            _OrgSpec(
                f"{gov_key}_office",
                gov_key,
                f"{county_name}人民政府办公室",
                f"{county_name}政府办",
                f"{prefix}政办",
                OrgKind.GENERAL_OFFICE,
                county,
                division,
            )
        )
    return specs


def demo_code(n: int, division: str) -> str:
    """A made-up but valid 统一社会信用代码 ("11" = 机构编制 / 机关)."""
    return make_uscc("1", "1", division, f"DEM{n:05d}")


@transaction.atomic
def ensure_demo_user(
    spec: DemoUser, organisation: Organisation, *, acting: Acting
) -> tuple[User, bool, bool]:
    """The demo person with their position and role, through the services (idempotent).

    Returns the user, whether the account was created and whether the role was granted now.
    """
    created = False
    user = User.objects.filter(username=spec.username).first()
    if user is None:
        user = services.do_create_user(
            username=spec.username,
            position=services.NewPosition(organisation, spec.title),
            password=None,
            acting=acting,
            full_name=spec.full_name,
            email=f"{spec.username}@demo.egov.invalid",
        )
        # The published demo password skips the policy's history and expiry on purpose.
        user.set_password(DEMO_PASSWORD)
        user.must_change_password = False
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "must_change_password", "password_changed_at"])
        created = True
    position = Position.objects.filter(
        user=user, organisation=organisation, title=spec.title
    ).first()
    if position is None or not position.is_active:
        position = services.do_add_position(
            user, organisation=organisation, title=spec.title, acting=acting
        )
    granted = False
    if not position.role_grants.filter(role=spec.role).exists():
        services.do_grant_role(position, spec.role, acting=acting)
        granted = True
    return user, created, granted


def seed_demo(*, acting: Acting | None = None) -> SeedResult:
    """Create whatever of the demo tree and demo people is missing; change nothing else."""
    acting = acting or Acting.system("seed_demo")
    result = SeedResult()
    specs = org_specs()
    codes = {spec.key: demo_code(i + 1, spec.division) for i, spec in enumerate(specs)}
    existing = {o.code: o for o in Organisation.objects.filter(code__in=codes.values())}
    for i, spec in enumerate(specs):
        code = codes[spec.key]
        org = existing.get(code)
        if org is None:
            org = services.do_create_organisation(
                parent=result.keys[spec.parent_key] if spec.parent_key else None,
                acting=acting,
                code=code,
                name=spec.name,
                short_name=spec.short_name,
                doc_code=spec.doc_code,
                kind=spec.kind,
                level=spec.level,
                division_code=spec.division,
                sort_order=i,
            )
            result.organisations_created += 1
        result.keys[spec.key] = org
    for demo_user in DEMO_USERS:
        _user, created, granted = ensure_demo_user(
            demo_user, result.keys[demo_user.org_key], acting=acting
        )
        result.users_created += created
        result.roles_granted += granted
    return result
