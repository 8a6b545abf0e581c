"""访问控制：谁能看、谁能写。所有权限判断都在这里。

- 办公室（office）：读写全部计划、任务、分工，审核报送；
- 局长（director）：只读全部；
- 股室人员（section）：只看、只写本股室（牵头或责任）的任务；其他股室的任务返回 404；
- 只读（readonly）：可看本股室，任何写操作 403。
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from workplan.models import (
    Application,
    ApplicationAppeal,
    AssignmentRole,
    CriticismNotice,
    Evidence,
    FileJob,
    Interview,
    NoticeStatus,
    ProgressReport,
    PublicationItem,
    PublicationLevel,
    RectificationItem,
    Role,
    Task,
    TaskAssignment,
    User,
    WorkPlan,
)


def can_manage_plans(user: User) -> bool:
    return user.is_authenticated and user.role == Role.OFFICE


def can_read_all(user: User) -> bool:
    return user.is_authenticated and user.role in (Role.OFFICE, Role.DIRECTOR)


def office_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """办公室专用的视图：其他已登录用户 403。登录检查由 login_required 在外层完成。"""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_manage_plans(request.user):  # type: ignore[arg-type]
            raise PermissionDenied("仅办公室可以执行此操作")
        return view(request, *args, **kwargs)

    return wrapper


def require_office(user: User, what: str) -> None:
    """服务层的同一条规则：不是办公室的 403（“仅办公室可以{what}”）。"""
    if not can_manage_plans(user):
        raise PermissionDenied(f"仅办公室可以{what}")


def visible_tasks(user: User) -> QuerySet[Task]:
    """该用户能看到的任务。"""
    qs = Task.objects.all()
    if can_read_all(user):
        return qs
    if user.section_id is None:
        return qs.none()
    return qs.filter(assignments__section_id=user.section_id).distinct()


def visible_plans(user: User) -> QuerySet[WorkPlan]:
    if can_read_all(user):
        return WorkPlan.objects.all()
    if user.section_id is None:
        return WorkPlan.objects.none()
    return WorkPlan.objects.filter(tasks__assignments__section_id=user.section_id).distinct()


def get_plan_for_user(user: User, pk: int, *, write: bool = False) -> WorkPlan:
    plan = get_object_or_404(visible_plans(user), pk=pk)
    if write and not can_manage_plans(user):
        raise PermissionDenied("仅办公室可以修改工作计划")
    return plan


def get_task_for_user(user: User, pk: int, *, write: bool = False) -> Task:
    """取任务：看不到的任务一律 404（不泄露其存在）；能看但不能写的 403。"""
    try:
        task = visible_tasks(user).select_related("plan", "parent").get(pk=pk)
    except Task.DoesNotExist as exc:
        raise Http404("任务不存在") from exc
    if write and not can_manage_plans(user):
        raise PermissionDenied("仅办公室可以修改任务")
    return task


def visible_reports(user: User) -> QuerySet[ProgressReport]:
    """该用户能看到的进展报送：办公室、局长全部；股室人员与只读用户看本股室的报送，
    以及本股室牵头的任务上各责任股室的报送（牵头股室负责统筹，需要看到配合股室的进展）。"""
    qs = ProgressReport.objects.all()
    if can_read_all(user):
        return qs
    if user.section_id is None:
        return qs.none()
    return qs.filter(Q(section_id=user.section_id) | Q(task_id__in=_led_task_ids(user.section_id)))


def _led_task_ids(section_id: int) -> QuerySet[TaskAssignment]:
    return TaskAssignment.objects.filter(section_id=section_id, role=AssignmentRole.LEAD).values("task_id")


def visible_evidence(user: User) -> QuerySet[Evidence]:
    """该用户能看到的佐证材料：即其能看到的报送所附的材料。"""
    qs = Evidence.objects.all()
    if can_read_all(user):
        return qs
    if user.section_id is None:
        return qs.none()
    return qs.filter(
        Q(report__section_id=user.section_id) | Q(report__task_id__in=_led_task_ids(user.section_id))
    )


# —— 进展报送、审核与佐证材料（workplan/reporting.py、views_progress.py 使用）——

REPORTING_ROLES = (Role.SECTION, Role.OFFICE)


def report_role_for(user: User, task: Task) -> str | None:
    """用户所在股室在该任务中的分工角色（既牵头又负责时为牵头）；不能为该任务报送时为 None。

    股室人员与办公室人员可以为本股室承担的任务报送；局长、只读用户永远不能报送。
    """
    if not user.is_authenticated or user.role not in REPORTING_ROLES or user.section_id is None:
        return None
    roles = set(
        TaskAssignment.objects.filter(task=task, section_id=user.section_id).values_list("role", flat=True)
    )
    if AssignmentRole.LEAD in roles:
        return AssignmentRole.LEAD
    if AssignmentRole.RESPONSIBLE in roles:
        return AssignmentRole.RESPONSIBLE
    return None


def can_report_for(user: User, task: Task) -> bool:
    return report_role_for(user, task) is not None


def get_task_for_reporting(user: User, pk: int) -> Task:
    """取要报送进展的任务：看不到的 404；看得到但本股室不承担该任务（或只读、局长）的 403。"""
    task = get_task_for_user(user, pk)
    if not can_report_for(user, task):
        raise PermissionDenied("只有该任务的牵头或责任股室可以报送进展")
    return task


def can_write_report(user: User, report: ProgressReport) -> bool:
    """报送所属股室的人员可以为它添加、撤回佐证材料；办公室可以为任何报送添加。"""
    if not user.is_authenticated:
        return False
    if user.role == Role.OFFICE:
        return True
    return user.role == Role.SECTION and user.section_id == report.section_id


def can_review(user: User) -> bool:
    return can_manage_plans(user)


def get_report_for_user(user: User, pk: int, *, write: bool = False) -> ProgressReport:
    """取报送：看不到的 404；write=True 时不是报送所属股室（也不是办公室）的 403。"""
    try:
        report = visible_reports(user).select_related("task__plan", "section").get(pk=pk)
    except ProgressReport.DoesNotExist as exc:
        raise Http404("报送不存在") from exc
    if write and not can_write_report(user, report):
        raise PermissionDenied("只有报送所属股室或办公室可以修改这份报送的佐证材料")
    return report


def get_report_for_review(user: User, pk: int) -> ProgressReport:
    """取要审核的报送：只有办公室，其他人 403。"""
    if not can_review(user):
        raise PermissionDenied("仅办公室可以审核报送")
    reports = ProgressReport.objects.select_related("task__plan", "section", "submitted_by")
    return get_object_or_404(reports, pk=pk)


def get_evidence_for_user(user: User, pk: int, *, write: bool = False) -> Evidence:
    """取佐证材料：看不到的 404；已撤回的文件只有办公室还能下载；write=True 时规则同 can_write_report。"""
    try:
        evidence = visible_evidence(user).select_related("report__task", "report__section").get(pk=pk)
    except Evidence.DoesNotExist as exc:
        raise Http404("佐证材料不存在") from exc
    if write:
        if not can_write_report(user, evidence.report):
            raise PermissionDenied("只有报送所属股室或办公室可以撤回佐证材料")
    elif evidence.removed_at is not None and not can_manage_plans(user):
        raise Http404("佐证材料已撤回")
    return evidence


# —— 通报批评、整改事项与约谈（workplan/notices.py、rectification.py、interviews.py 及其页面使用）——
# 办公室读写全部；局长只读全部；股室人员与只读用户只看点名本股室的已印发通报及本股室的整改事项
# （其他的一律 404）；约谈记录只有办公室、局长可看。


def visible_notices(user: User) -> QuerySet[CriticismNotice]:
    if can_read_all(user):
        return CriticismNotice.objects.all()
    if not user.is_authenticated or user.section_id is None:
        return CriticismNotice.objects.none()
    issued = CriticismNotice.objects.filter(status=NoticeStatus.ISSUED)
    return issued.filter(units__section_id=user.section_id).distinct()


def get_notice_for_user(user: User, pk: int, *, write: bool = False) -> CriticismNotice:
    """取通报：看不到的 404；write=True 时不是办公室的 403。"""
    try:
        notice = visible_notices(user).get(pk=pk)
    except CriticismNotice.DoesNotExist as exc:
        raise Http404("通报不存在") from exc
    if write and not can_manage_plans(user):
        raise PermissionDenied("仅办公室可以起草、修改、印发通报")
    return notice


def visible_rectifications(user: User) -> QuerySet[RectificationItem]:
    if can_read_all(user):
        return RectificationItem.objects.all()
    if not user.is_authenticated or user.section_id is None:
        return RectificationItem.objects.none()
    return RectificationItem.objects.filter(section_id=user.section_id)


def can_answer_rectification(user: User, item: RectificationItem) -> bool:
    """本股室的人员（股室人员，或所在股室被点名的办公室人员）可以答复；局长、只读用户不能。"""
    return (
        user.is_authenticated
        and user.role in REPORTING_ROLES
        and user.section_id is not None
        and user.section_id == item.section_id
    )


def get_rectification_for_user(user: User, pk: int, *, action: str = "view") -> RectificationItem:
    """取整改事项：看不到的 404；action="answer" 时不是本股室人员的 403，
    action="verify" 时不是办公室的 403。"""
    items = visible_rectifications(user).select_related("notice", "interview", "section", "task")
    try:
        item = items.get(pk=pk)
    except RectificationItem.DoesNotExist as exc:
        raise Http404("整改事项不存在") from exc
    if action == "answer" and not can_answer_rectification(user, item):
        raise PermissionDenied("只有被通报股室的人员可以答复整改情况")
    if action == "verify" and not can_manage_plans(user):
        raise PermissionDenied("仅办公室可以核验整改")
    return item


def get_interview_for_user(user: User, pk: int, *, write: bool = False) -> Interview:
    """取约谈记录：办公室、局长可看（其他人 403）；write=True 时仅办公室。"""
    if not can_read_all(user) or (write and not can_manage_plans(user)):
        raise PermissionDenied("仅办公室可以记录约谈，局长可以查看")
    return get_object_or_404(Interview.objects.prefetch_related("sections"), pk=pk)


# —— 发布信息登记台账（workplan/publication.py、views_publication.py 使用）——
# 办公室读写全部；局长只读全部，并作为分管领导担任复审；股室人员与只读用户只看本股室的信息（其他的 404）。
# 拟稿、修改、提交：本股室的股室人员或办公室；初审：本股室人员；复审：局长角色；终审、发布登记：办公室。
# 同一人不能审核自己提交的稿件等“独立性”规则在 workplan/publication.py 的服务中判断。


def visible_publications(user: User) -> QuerySet[PublicationItem]:
    if can_read_all(user):
        return PublicationItem.objects.all()
    if not user.is_authenticated or user.section_id is None:
        return PublicationItem.objects.none()
    return PublicationItem.objects.filter(section_id=user.section_id)


def can_draft_publication(user: User, section_id: int | None) -> bool:
    """为某股室拟稿、修改、提交：该股室的股室人员，或办公室（可为任何股室）。"""
    if not user.is_authenticated:
        return False
    if user.role == Role.OFFICE:
        return True
    return user.role == Role.SECTION and section_id is not None and user.section_id == section_id


def can_review_publication(user: User, item: PublicationItem, level: str) -> bool:
    """按角色能否审核某一级：初审为承办股室的人员（股室人员或该股室的办公室人员），复审为局长角色
    （分管领导），终审为办公室。"""
    if not user.is_authenticated:
        return False
    if level == PublicationLevel.FIRST:
        return user.role in REPORTING_ROLES and user.section_id == item.section_id
    if level == PublicationLevel.SECOND:
        return user.role == Role.DIRECTOR
    if level == PublicationLevel.FINAL:
        return user.role == Role.OFFICE
    return False


def can_open_publication_queue(user: User, level: str) -> bool:
    if not user.is_authenticated:
        return False
    if level == PublicationLevel.FIRST:
        return user.role in REPORTING_ROLES and user.section_id is not None
    if level == PublicationLevel.SECOND:
        return user.role == Role.DIRECTOR
    return level == PublicationLevel.FINAL and user.role == Role.OFFICE


def get_publication_for_user(user: User, pk: int, *, action: str = "view") -> PublicationItem:
    """取发布信息：看不到的 404。action="edit"（修改、提交、删除拟稿）时不能为其股室拟稿的 403；
    action="publish" 时不是办公室的 403。审核的权限见 can_review_publication。"""
    try:
        item = visible_publications(user).select_related("section", "task", "created_by").get(pk=pk)
    except PublicationItem.DoesNotExist as exc:
        raise Http404("发布信息不存在") from exc
    if action == "edit" and not can_draft_publication(user, item.section_id):
        raise PermissionDenied("只有承办股室人员或办公室可以修改、提交这条信息")
    if action == "publish" and not can_manage_plans(user):
        raise PermissionDenied("仅办公室可以登记发布")
    return item


# —— 依申请公开登记（workplan/applications.py、views_applications.py 使用）——
# 办公室读写全部；局长只读全部；股室人员与只读用户只看本股室承办的申请（其他的 404）。
# 登记、修改、延期、行政复议 / 诉讼：办公室；补正、征求意见、答复：承办股室的股室人员或办公室。


def visible_applications(user: User) -> QuerySet[Application]:
    if can_read_all(user):
        return Application.objects.all()
    if not user.is_authenticated or user.section_id is None:
        return Application.objects.none()
    return Application.objects.filter(section_id=user.section_id)


def can_handle_application(user: User, application: Application) -> bool:
    """记录补正、征求意见、答复：办公室，或承办股室的股室人员（只读用户、局长不能）。"""
    if not user.is_authenticated:
        return False
    if user.role == Role.OFFICE:
        return True
    return user.role == Role.SECTION and user.section_id == application.section_id


def get_application_for_user(user: User, pk: int, *, action: str = "view") -> Application:
    """取申请：看不到的 404；action="handle" 时不是办公室或承办股室人员的 403，
    "manage" 时不是办公室的 403。"""
    try:
        application = visible_applications(user).select_related("section").get(pk=pk)
    except Application.DoesNotExist as exc:
        raise Http404("申请不存在") from exc
    if action == "handle" and not can_handle_application(user, application):
        raise PermissionDenied("只有承办股室人员或办公室可以记录办理情况")
    if action == "manage" and not can_manage_plans(user):
        raise PermissionDenied("仅办公室可以登记、修改申请和复议诉讼")
    return application


def get_appeal_for_user(user: User, pk: int) -> ApplicationAppeal:
    """取行政复议 / 诉讼记录来修改：所属申请看不到的 404，不是办公室的 403。"""
    appeal = get_object_or_404(
        ApplicationAppeal.objects.filter(application__in=visible_applications(user)).select_related(
            "application__section"
        ),
        pk=pk,
    )
    if not can_manage_plans(user):
        raise PermissionDenied("仅办公室可以登记、修改申请和复议诉讼")
    return appeal


def visible_file_jobs(user: User) -> QuerySet[FileJob]:
    """后台文件任务只属于创建人：办公室、局长也看不到别人的（别人的导出可能含其本股室的数据）。"""
    return FileJob.objects.for_user(user)


def get_file_job_for_user(user: User, pk: int) -> FileJob:
    return get_object_or_404(visible_file_jobs(user), pk=pk)
