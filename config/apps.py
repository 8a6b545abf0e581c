"""项目级配置应用：登记启动检查（后台任务集群的 retry/timeout，见 config/qcluster_check.py；登录与会话策略，
见 config/security.py），并在登录时开始计算会话空闲时间。"""

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "config"
    label = "zwgk_config"
    verbose_name = "项目配置"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from config import qcluster_check, security  # noqa: F401  (register the system checks)
        from workplan.middleware import session_started

        user_logged_in.connect(session_started, dispatch_uid="zwgk.session_started")
