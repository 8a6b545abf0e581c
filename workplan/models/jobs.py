"""后台文件任务（“我的后台任务”）：大的导出与报告在长任务队列 long 里生成，完成后由创建人下载。"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models


class FileJobQuerySet(models.QuerySet["FileJob"]):
    def for_user(self, user: models.Model) -> FileJobQuerySet:
        """只有创建人能看到自己的任务（其他人一律 404）。"""
        return self.filter(created_by=user)

    def unfinished(self) -> FileJobQuerySet:
        return self.filter(status__in=FileJob.UNFINISHED)


class FileJob(models.Model):
    """一个后台生成的文件：类型（登记在 workplan.file_jobs）、参数（筛选条件等，只有编号和文字）、状态与进度；
    完成后保存文件与下载用的文件名，失败时保存中文原因（不留半个文件）。

    attempts 是执行权的版本号：每次开始执行加 1，之后的写入都以它为条件（SQLite 上也有效的乐观锁）。
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "生成中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField("类型", max_length=64)
    title = models.CharField("名称", max_length=255)
    params = models.JSONField("参数", default=dict, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    message = models.TextField("说明", blank=True)
    result_file = models.FileField("文件", upload_to="jobs/%Y/%m/", blank=True)
    result_name = models.CharField("下载文件名", max_length=255, blank=True)
    content_type = models.CharField("文件类型", max_length=128, blank=True)
    result_size = models.PositiveBigIntegerField("文件大小（字节）", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("执行次数", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="file_jobs",
        verbose_name="创建人",
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    objects = FileJobQuerySet.as_manager()

    class Meta:
        verbose_name = "后台文件任务"
        verbose_name_plural = "后台文件任务"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="filejob_user_created")]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="filejob_progress_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.title}（{self.get_status_display()}）"

    @property
    def is_unfinished(self) -> bool:
        return self.status in self.UNFINISHED

    def is_stale(self, *, now: datetime.datetime, timeout: datetime.timedelta) -> bool:
        """“生成中”超过长任务队列的 timeout：执行它的进程已被杀，django-q2 重新投递时重做。"""
        return (
            self.status == self.Status.RUNNING
            and self.started_at is not None
            and self.started_at < now - timeout
        )
