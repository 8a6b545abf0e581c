"""后台文件任务（“我的后台任务”）：大的导出与报告投到长任务队列 long 生成，生成后由创建人下载。
类型 → 准备函数 prepare(ctx)：按创建人现在的权限与保存的请求参数重新查询（不序列化查询集），得到“待生成文件”，
其 size 决定当场下载还是转入后台；请求里与后台走同一个 prepare/build，得到的文件相同。
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Protocol

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Model, Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.tasks import async_task
from django_tables2 import RequestConfig

from workplan.audit import audit_record
from workplan.exporting import CONTENT_TYPES, attachment_response, build_dataset, dataset_bytes
from workplan.models import FileJob, User

logger = logging.getLogger(__name__)

TASK_PATH = "workplan.tasks.file_job_run"
EXPORT_PARAM = "_export"  # ?_export=xlsx|csv on every list page
MAX_PARAMS_BYTES = 64 * 1024  # a quarterly report form carries up to 5,000 characters of text
MAX_UNFINISHED_PER_USER = 5
INTERNAL_ERROR = "生成失败：系统内部错误。请稍后重新导出；多次失败请联系系统管理员。"

ProgressFn = Callable[[int], None]


def _no_progress(_percent: int) -> None:
    return None


@dataclass(frozen=True)
class FileResult:
    """生成好的文件：下载用的文件名（含扩展名）、内容、内容类型。"""

    filename: str
    payload: bytes
    content_type: str


@dataclass
class JobContext:
    """一次生成：谁（创建人）、按什么参数；在请求里生成时带上请求（审计日志记 IP），在后台时报告进度。"""

    user: User
    params: dict[str, list[str]]
    report_progress: ProgressFn = _no_progress
    request: HttpRequest | None = None

    @property
    def query(self) -> QueryDict:
        """参数还原成 QueryDict，交给与页面相同的筛选表单。"""
        query = QueryDict(mutable=True)
        for key, values in self.params.items():
            query.setlist(key, [str(v) for v in values])
        query._mutable = False
        return query


class Prepared(Protocol):
    """准备好的文件（还没生成）：名称、大小（行数或任务数）及其单位、生成方法。"""

    title: str
    size: int
    unit: str

    def build(self, ctx: JobContext) -> FileResult: ...


class JobRefused(Exception):
    """预期内的失败（参数不再有效、数据已删除等）：带中文原因，任务标为失败，不重试。"""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class JobKind:
    label: str
    prepare: str  # dotted path of prepare(ctx) -> Prepared
    limit_setting: str = "EXPORT_INLINE_ROWS"

    @property
    def inline_limit(self) -> int:
        return int(getattr(settings, self.limit_setting))


# workplan's kinds; scoring registers its own in ScoringConfig.ready() (workplan never imports scoring).
KINDS: dict[str, JobKind] = {
    "task_list": JobKind("任务清单导出", "workplan.views.task_list_export"),
    "my_tasks": JobKind("我的任务导出", "workplan.views.my_tasks_export"),
    "report_list": JobKind("进展报送导出", "workplan.views_lists.report_list_export"),
    "evidence_list": JobKind("佐证材料导出", "workplan.views_lists.evidence_list_export"),
    "audit_list": JobKind("审计日志导出", "workplan.views_lists.audit_list_export"),
    "missing_reports": JobKind("缺报清单导出", "workplan.views_notifications.missing_reports_export"),
    "notice_list": JobKind("通报批评导出", "workplan.views_notices.notice_list_export"),
    "rectification_list": JobKind("整改事项导出", "workplan.views_rectification.rectification_list_export"),
    "application_list": JobKind("依申请公开登记导出", "workplan.views_applications.application_list_export"),
    "publication_list": JobKind("发布信息台账导出", "workplan.views_publication.publication_list_export"),
    "plan_tasks": JobKind("计划任务表导出", "workplan.views_spreadsheet.plan_tasks_export"),
}


def register_kind(kind: str, *, label: str, prepare: str, limit_setting: str = "EXPORT_INLINE_ROWS") -> None:
    """登记一种后台文件（其他应用在 AppConfig.ready 中调用；重复登记以最后一次为准）。"""
    KINDS[kind] = JobKind(label=label, prepare=prepare, limit_setting=limit_setting)


def kind_label(kind: str) -> str:
    return KINDS[kind].label if kind in KINDS else kind


def prepare_file(kind: str, ctx: JobContext) -> Prepared:
    if kind not in KINDS:
        raise JobRefused(f"不认识的后台任务类型：{kind}")
    prepare: Callable[[JobContext], Prepared] = import_string(KINDS[kind].prepare)
    return prepare(ctx)


# ---- table exports ---------------------------------------------------------------------------------------


@dataclass
class TableExport:
    """一份表格导出（xlsx / csv）：文件名（不含扩展名）、表头、逐行取值（惰性，生成时才查询）与行数。

    audit_action 不为空时，生成之后写一条审计日志（在文件生成之后，文件里不含它自己那一条）。
    """

    filename: str
    fmt: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    size: int
    sheet_title: str = ""
    audit_action: str = ""
    audit_new: dict[str, Any] = field(default_factory=dict)
    audit_obj: Model | None = None
    unit: str = "行"

    def __post_init__(self) -> None:
        if self.fmt not in CONTENT_TYPES:
            raise JobRefused(f"不支持的导出格式：{self.fmt}")

    @property
    def title(self) -> str:
        return f"{self.filename}.{self.fmt}"

    def build(self, ctx: JobContext) -> FileResult:
        rows = _reporting_rows(self.rows, self.size, ctx.report_progress)
        data = build_dataset(self.headers, rows, title=self.sheet_title or self.filename)
        payload = dataset_bytes(data, fmt=self.fmt)
        if self.audit_action:
            audit_record(
                action=self.audit_action,
                user=ctx.user,
                obj=self.audit_obj,
                new=self.audit_new,
                request=ctx.request,
            )
        return FileResult(self.title, payload, CONTENT_TYPES[self.fmt])


def table_export(ctx: JobContext, table: Any, *, filename: str, **kwargs: Any) -> TableExport:
    """列表页的 django-tables2 表格导出：按参数中的排序（与页面相同）、不分页，取全部行（表头即列名）；
    格式取参数 _export，行数用一条 COUNT 查询得到。"""
    request = HttpRequest()
    request.GET = ctx.query
    RequestConfig(request, paginate=False).configure(table)
    values = table.as_values()
    headers = next(values)
    fmt = param(ctx, EXPORT_PARAM)
    return TableExport(
        filename=filename, fmt=fmt, headers=headers, rows=values, size=len(table.data), **kwargs
    )


def _reporting_rows(
    rows: Iterable[Sequence[Any]], total: int, progress: ProgressFn
) -> Iterator[Sequence[Any]]:
    # Rows are 0–90 %; writing the file is the rest.
    step = max(200, total // 50)
    for i, row in enumerate(rows, 1):
        if i % step == 0 and total:
            progress(min(90, i * 90 // total))
        yield row


def query_params(request: HttpRequest, *, drop: Iterable[str] = ("page",)) -> dict[str, list[str]]:
    """请求的查询参数（去掉分页），按 QueryDict.lists() 保存：一个键可有多个值。"""
    return {k: v for k, v in request.GET.lists() if k not in set(drop)}


def param(ctx: JobContext, name: str, default: str = "") -> str:
    values = ctx.params.get(name) or [default]
    return str(values[-1])


# ---- enqueue ---------------------------------------------------------------------------------------------


def _params_problem(params: Any) -> str:
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
        for k, v in params.items()
    ):
        return "参数格式不正确"
    if len(json.dumps(params, ensure_ascii=False).encode()) > MAX_PARAMS_BYTES:
        return "筛选条件过长"
    return ""


def file_job_enqueue(
    *,
    kind: str,
    params: dict[str, list[str]],
    user: User,
    request: HttpRequest | None = None,
    title: str = "",
) -> FileJob:
    """提交一个后台文件任务：校验类型与参数（只有文字，不超过 64 KB）；同一用户同类型同参数的任务还在排队或
    生成中时不重复提交，返回那一个；每人同时未完成的任务不超过 5 个。写审计日志 file_job.enqueue，
    提交到长任务队列 long（参数只有任务编号）。"""
    if kind not in KINDS:
        raise ValidationError(f"不认识的后台任务类型：{kind}")
    if not user.is_authenticated or not user.is_active:
        raise ValidationError("只有登录的用户才能提交后台任务")
    problem = _params_problem(params)
    if problem:
        raise ValidationError(f"无法提交后台任务：{problem}")
    mine = FileJob.objects.for_user(user).unfinished()
    same = mine.filter(kind=kind, params=params).order_by("-pk").first()
    if same is not None and not same.is_stale(now=timezone.now(), timeout=stale_after()):
        return same
    if mine.count() >= MAX_UNFINISHED_PER_USER:
        raise ValidationError(
            f"你已有{MAX_UNFINISHED_PER_USER}个后台任务在排队或生成中，请等它们完成后再提交（见“我的后台任务”）。"
        )
    with transaction.atomic():
        job = FileJob.objects.create(
            kind=kind, title=(title or kind_label(kind))[:255], params=params, created_by=user
        )
        audit_record(
            action="file_job.enqueue",
            user=user,
            obj=job,
            new={"kind": kind, "params": params},
            request=request,
            object_repr=job.title,
        )
    # After the commit, so a worker never looks for a row it cannot see yet (tests run it inline right here).
    try:
        async_task(TASK_PATH, job.pk, cluster=settings.Q_LONG_CLUSTER, task_name=f"file_job-{job.pk}")
    except Exception:
        logger.exception("后台文件任务 %s 未能提交到队列", job.pk)
        FileJob.objects.filter(pk=job.pk, status=FileJob.Status.QUEUED).update(
            status=FileJob.Status.FAILED,
            message="未能提交到后台任务队列，请稍后重试。",
            finished_at=timezone.now(),
        )
    job.refresh_from_db()
    return job


def deliver(request: HttpRequest, *, kind: str, params: dict[str, list[str]] | None = None) -> HttpResponse:
    """导出或报告的下载请求：不超过上限（该类型的设置，如 EXPORT_INLINE_ROWS）的当场生成并下载；
    超过的转为后台任务，跳到任务页（带提示）。权限不足、对象不存在照常 403 / 404。"""
    user: User = request.user  # type: ignore[assignment]
    params = query_params(request) if params is None else params
    ctx = JobContext(user=user, params=params, request=request)
    prepared = prepare_file(kind, ctx)
    limit = KINDS[kind].inline_limit
    if prepared.size <= limit:
        return attachment_response(prepared.build(ctx))
    try:
        job = file_job_enqueue(kind=kind, params=params, user=user, request=request, title=prepared.title)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("file_job_list")
    messages.info(
        request,
        f"“{job.title}”共{prepared.size}{prepared.unit}，超过当场下载的上限（{limit}{prepared.unit}），"
        "已转入后台生成。完成后在本页下载，也可以在“我的后台任务”中找到。",
    )
    return redirect("file_job_detail", pk=job.pk)


# ---- run (the django-q2 task) ----------------------------------------------------------------------------


def stale_after() -> datetime.timedelta:
    """“生成中”超过长任务队列的 timeout 即视为进程已被杀：django-q2 在 retry 秒后重新投递时重做。"""
    long_conf = settings.Q_CLUSTER.get("ALT_CLUSTERS", {}).get(settings.Q_LONG_CLUSTER, {})
    timeout = long_conf.get("timeout") or settings.Q_CLUSTER.get("timeout") or 3600
    return datetime.timedelta(seconds=int(timeout))


def _claim(job: FileJob) -> int | None:
    """取得执行权：排队中的，或“生成中”已超时的（上次执行的进程已被杀）。返回本次的 attempts，没取到为 None。

    以读到的 attempts 为条件更新：两个投递同时到达时只有一个成功。上次中断留下的文件（可能只写了一半）删掉。
    """
    now = timezone.now()
    reclaimable = Q(status=FileJob.Status.QUEUED) | Q(
        status=FileJob.Status.RUNNING, started_at__lt=now - stale_after()
    )
    claimed = FileJob.objects.filter(reclaimable, pk=job.pk, attempts=job.attempts).update(
        status=FileJob.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        finished_at=None,
        progress=0,
        message="",
        result_file="",
    )
    if not claimed:
        return None
    if job.result_file.name:
        job.result_file.storage.delete(job.result_file.name)
    return job.attempts + 1


def _mine(job: FileJob, attempt: int) -> Any:
    return FileJob.objects.filter(pk=job.pk, attempts=attempt, status=FileJob.Status.RUNNING)


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, JobRefused):
        return exc.message
    if isinstance(exc, ValidationError):
        return "生成失败：" + "；".join(exc.messages)
    if isinstance(exc, PermissionDenied):
        reason = str(exc) or "没有权限"
        return f"生成失败：你已没有生成此文件的权限（{reason}）。"
    return "生成失败：所需的数据已不存在，或你已无权查看。"


def file_job_execute(job_id: int) -> str:
    """执行一个后台文件任务（django-q2 的任务 workplan.tasks.file_job_run 调用），可以重复投递：

    - 已完成、已失败，或正在生成且未超时的，不重做，直接返回；
    - 生成中超时（进程被杀后 django-q2 重新投递）的，删去上次留下的文件后从头重做；
    - 按创建人当前的权限与保存的参数重新查询、生成；文件全部生成好之后才写入 MEDIA_ROOT/jobs/，
      再把任务标为已完成；任何一步失败都标为失败、写中文原因，并删去已写的文件（不留半个文件）。
    """
    job = FileJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None:
        return f"后台文件任务 {job_id} 不存在"
    attempt = _claim(job)
    if attempt is None:
        job.refresh_from_db(fields=["status"])
        return f"{job.title}：{job.get_status_display()}，不重复执行"
    storage = job.result_file.storage
    last = [0]

    def report_progress(percent: int) -> None:
        percent = max(0, min(99, int(percent)))
        if percent > last[0]:
            last[0] = percent
            _mine(job, attempt).update(progress=percent)

    written = ""
    try:
        user = job.created_by
        if user is None or not user.is_active:
            raise JobRefused("生成失败：提交任务的用户已停用。")
        ctx = JobContext(user=user, params=job.params, report_progress=report_progress)
        result = prepare_file(job.kind, ctx).build(ctx)
        report_progress(95)
        suffix = PurePosixPath(result.filename).suffix
        name = job.result_file.field.generate_filename(job, f"{job.pk}-{uuid.uuid4().hex}{suffix}")
        # The name goes on the row before the bytes go to disk: a crash mid-write leaves a name the retry
        # deletes, never an orphan. Only a finished row (status done) is ever offered for download.
        if not _mine(job, attempt).update(result_file=name):
            return f"{job.title}：执行权已被其他进程取得，放弃本次结果"
        written = name
        saved = storage.save(name, ContentFile(result.payload))
        written = saved
        done = _mine(job, attempt).update(
            status=FileJob.Status.DONE,
            progress=100,
            result_file=saved,
            result_name=result.filename[:255],
            content_type=result.content_type[:128],
            result_size=len(result.payload),
            finished_at=timezone.now(),
        )
        if not done:
            storage.delete(saved)
            return f"{job.title}：执行权已被其他进程取得，放弃本次结果"
        return f"{job.title}：已完成，{len(result.payload)} 字节"
    except (JobRefused, ValidationError, PermissionDenied, Http404, ObjectDoesNotExist) as exc:
        message = _failure_message(exc)
    except Exception:
        logger.exception("后台文件任务 %s（%s）失败", job.pk, job.kind)
        message = INTERNAL_ERROR
    if written:
        storage.delete(written)
    _mine(job, attempt).update(
        status=FileJob.Status.FAILED, message=message, result_file="", finished_at=timezone.now()
    )
    return f"{job.title}：{message}"


# ---- retention (daily schedule) --------------------------------------------------------------------------

EXPIRED = "文件已超过保留期限，已删除；需要时请回原页面重新导出。"
ABANDONED = "后台任务未能完成（队列中断），请回原页面重新导出。"


def file_jobs_purge(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """每日清理：完成超过 FILE_JOB_KEEP_DAYS 天的文件删去（导出里可能有申请人姓名等，不长期留存；任务行保留，
    说明写明已过期）；提交超过一天仍未完成的（队列中断、重投次数用尽）标为失败。可以重复运行。"""
    now = now or timezone.now()
    expired = FileJob.objects.filter(
        status=FileJob.Status.DONE,
        finished_at__lt=now - datetime.timedelta(days=settings.FILE_JOB_KEEP_DAYS),
    ).exclude(result_file="")
    removed = 0
    for pk, name in expired.values_list("pk", "result_file"):
        FileJob._meta.get_field("result_file").storage.delete(name)
        removed += FileJob.objects.filter(pk=pk, result_file=name).update(result_file="", message=EXPIRED)
    abandoned = FileJob.objects.unfinished().filter(created_at__lt=now - datetime.timedelta(days=1))
    failed = abandoned.update(status=FileJob.Status.FAILED, message=ABANDONED, finished_at=now)
    return {"removed": removed, "abandoned": failed}
