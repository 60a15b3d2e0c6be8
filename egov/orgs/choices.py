from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")


class OrgKind(models.TextChoices):
    GOVERNMENT = "government", _("Government")  # 人民政府
    GENERAL_OFFICE = "general_office", _("General office")  # 办公厅 / 办公室
    DEPARTMENT = "department", _("Department")  # 厅局, 委办局
    INTERNAL_UNIT = "internal_unit", _("Internal unit")  # 处室 / 科室
    OTHER = "other", _("Other body")


class Role(models.TextChoices):
    """Roles attach to positions. The first three are the 三员, held by three different people."""

    SYSTEM_ADMIN = "system_admin", _("System administrator")  # 系统管理员
    SECURITY_ADMIN = "security_admin", _("Security administrator")  # 安全管理员
    AUDIT_ADMIN = "audit_admin", _("Audit administrator")  # 审计管理员
    CLERK = "clerk", _("Clerk")  # 收发员
    DRAFTER = "drafter", _("Drafter")  # 拟稿人
    REVIEWER = "reviewer", _("Reviewer")  # 审核人
    SIGNER = "signer", _("Signing leader")  # 签发人
    HANDLER = "handler", _("Handler")  # 承办人
    DUTY_OFFICER = "duty_officer", _("Duty officer")  # 值班员
    DUTY_LEADER = "duty_leader", _("Leader on duty")  # 带班领导
    SUPERVISOR = "supervisor", _("Supervisor")  # 督查员
    INFO_OFFICER = "info_officer", _("Information officer")  # 信息员
    EDITOR = "editor", _("Editor")  # 编辑
    SITE_ADMIN = "site_admin", _("Website administrator")  # 网站管理员


# 三员分立: no person holds two of these.
SEPARATED_ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
# Roles whose holders must log in with a second factor (TOTP).
SECOND_FACTOR_ROLES = SEPARATED_ADMIN_ROLES | {Role.SIGNER}
