"""政务公开任务应用。"""

from django.apps import AppConfig


class WorkplanConfig(AppConfig):
    name = "workplan"
    verbose_name = "政务公开任务"
