"""页面：我的后台任务（后台生成的导出与报告）——列表（按状态筛选）、详情（排队中、生成中时自动刷新）、下载。

只有创建人能看、能下载自己的任务，其他人一律 404。提交任务的是各导出、报告页面（workplan.file_jobs.deliver）。
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from workplan import access
from workplan.downloads import private_file_response
from workplan.file_jobs import kind_label, stale_after
from workplan.models import FileJob, User

PAGE_SIZE = 30
# Seconds between reloads while a job is unfinished: quick at first (most jobs take a few seconds), then
# every 3 seconds.
REFRESH_FIRST, REFRESH_LATER, QUICK_FOR = 1, 3, 10


class JobFilterForm(forms.Form):
    status = forms.ChoiceField(label="状态", choices=[("", "全部"), *FileJob.Status.choices], required=False)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _refresh_seconds(jobs: list[FileJob]) -> int | None:
    unfinished = [j for j in jobs if j.is_unfinished]
    if not unfinished:
        return None
    newest = max(j.created_at for j in unfinished)
    quick = (timezone.now() - newest).total_seconds() < QUICK_FOR
    return REFRESH_FIRST if quick else REFRESH_LATER


@login_required
@require_GET
def file_job_list(request: HttpRequest) -> HttpResponse:
    """我的后台任务：本人提交的导出与报告，新的在前；有未完成的任务时页面自动刷新。"""
    form = JobFilterForm(request.GET or None)
    jobs = access.visible_file_jobs(_user(request))
    if form.is_valid() and form.cleaned_data["status"]:
        jobs = jobs.filter(status=form.cleaned_data["status"])
    page = Paginator(jobs.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "workplan/file_job_list.html",
        {
            "page": page,
            "filter_form": form,
            "query": query.urlencode(),
            "refresh": _refresh_seconds(list(page.object_list)),
            "export_limit": settings.EXPORT_INLINE_ROWS,
            "report_limit": settings.REPORT_INLINE_TASKS,
            "keep_days": settings.FILE_JOB_KEEP_DAYS,
        },
    )


@login_required
@require_GET
def file_job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """一个后台任务：状态与进度（未完成时自动刷新），完成后的下载链接，失败的原因。"""
    job = access.get_file_job_for_user(_user(request), pk)
    return render(
        request,
        "workplan/file_job_detail.html",
        {
            "job": job,
            "kind_label": kind_label(job.kind),
            "keep_days": settings.FILE_JOB_KEEP_DAYS,
            "refresh": _refresh_seconds([job]),
            "interrupted": job.is_stale(now=timezone.now(), timeout=stale_after()),
        },
    )


@login_required
@require_GET
def file_job_download(request: HttpRequest, pk: int) -> FileResponse:
    """下载已完成的文件（附件，保存时的中文文件名）；未完成、失败或已过期删除的没有文件，404。"""
    job = access.get_file_job_for_user(_user(request), pk)
    if job.status != FileJob.Status.DONE:
        raise Http404("文件尚未生成")
    return private_file_response(job.result_file, filename=job.result_name, content_type=job.content_type)
