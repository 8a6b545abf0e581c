"""测试数据工厂：无第三方依赖，带默认值。"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable

from django.utils import timezone

from workplan.models import (
    ApplicantType,
    Application,
    AssignmentRole,
    Evidence,
    ProgressReport,
    ReceiptChannel,
    ReportStatus,
    Role,
    Section,
    Task,
    TaskAssignment,
    User,
    WorkPlan,
)

_seq = itertools.count(1)


def make_section(name: str | None = None, **kwargs: object) -> Section:
    return Section.objects.create(name=name or f"测试股{next(_seq)}", **kwargs)


def make_user(
    username: str | None = None, *, role: str = Role.SECTION, section: Section | None = None, **kwargs: object
) -> User:
    user = User.objects.create_user(
        username=username or f"user{next(_seq)}", password="Test-pass-2024", role=role, section=section, **kwargs
    )
    return user


def make_plan(year: int = 2023, title: str = "政务公开工作要点", **kwargs: object) -> WorkPlan:
    return WorkPlan.objects.create(year=year, title=title, issuing_unit="樟树市统计局", **kwargs)


def make_task(
    plan: WorkPlan | None = None,
    *,
    title: str | None = None,
    leads: Iterable[Section] = (),
    responsibles: Iterable[Section] = (),
    **kwargs: object,
) -> Task:
    plan = plan or make_plan()
    n = next(_seq)
    defaults: dict[str, object] = {"code": f"T{n:04d}", "number": "（一）", "number_path": f"一/（{n}）", "position": n}
    defaults.update(kwargs)
    task = Task.objects.create(plan=plan, title=title or f"任务{n}", **defaults)
    TaskAssignment.objects.bulk_create(
        [TaskAssignment(task=task, section=s, role=AssignmentRole.LEAD) for s in leads]
        + [TaskAssignment(task=task, section=s, role=AssignmentRole.RESPONSIBLE) for s in responsibles]
    )
    return task


def make_report(
    task: Task,
    section: Section,
    *,
    year: int = 2023,
    quarter: int = 1,
    role: str = AssignmentRole.LEAD,
    status: str = ReportStatus.IN_PROGRESS,
    **kwargs: object,
) -> ProgressReport:
    """直接建一条进展报送（列表、权限测试用；报送流程本身请走服务）。"""
    kwargs.setdefault("submitted_at", timezone.now())
    return ProgressReport.objects.create(
        task=task, section=section, role=role, year=year, quarter=quarter, status=status, **kwargs
    )


def make_evidence(report: ProgressReport, *, kind: str = Evidence.Kind.LINK, **kwargs: object) -> Evidence:
    defaults: dict[str, object] = (
        {"url": "https://www.example.gov.cn/art/1.html"}
        if kind == Evidence.Kind.LINK
        else {"original_name": "佐证.pdf", "size": 2048, "content_type": "application/pdf"}
    )
    defaults.update(kwargs)
    return Evidence.objects.create(report=report, kind=kind, **defaults)


def make_application(section: Section, **kwargs: object) -> Application:
    """直接建一件依申请公开申请（列表、权限测试用；办理流程本身请走 workplan.applications 的服务）。"""
    n = next(_seq)
    received = kwargs.pop("received_on", datetime.date(2023, 9, 15))
    defaults: dict[str, object] = {
        "code": f"T-{n:04d}",
        "channel": ReceiptChannel.IN_PERSON,
        "submitted_on": received,
        "received_on": received,
        "applicant_type": ApplicantType.NATURAL_PERSON,
        "applicant_name": f"申请人{n}",
        "content": "申请公开2022年统计公报的编制说明",
    }
    defaults.update(kwargs)
    return Application.objects.create(section=section, **defaults)
