"""项目级配置应用：只用来登记启动检查（后台任务集群的 retry/timeout，见 config/qcluster_check.py）。"""

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "config"
    label = "zwgk_config"
    verbose_name = "项目配置"

    def ready(self) -> None:
        from config import qcluster_check  # noqa: F401  (registers the system check)
