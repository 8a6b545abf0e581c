"""启动检查：后台任务集群（django-q2 的默认队列与 ALT_CLUSTERS 中的每个队列）的 timeout 与 retry。

retry（未确认的任务多少秒后重新投递）不大于 timeout（任务最长运行秒数）时，运行中的任务会被再投递一次、
同时执行两遍；没有 timeout 的任务可能永远占着工作进程。Django 的系统检查在 qcluster、runserver、migrate、
check 等命令开始前运行，出错即退出（Error 级别），所以配置错误在启动时就会被发现。
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core import checks

DEFAULT_RETRY = 60  # django-q2's own default when "retry" is not set


def _env_hint(cluster: str, default_name: str) -> str:
    prefix = "Q" if cluster == default_name else f"Q_{cluster.upper()}"
    return f"{prefix}_TIMEOUT / {prefix}_RETRY"


def cluster_configs(q_cluster: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """各集群的实际配置：默认集群用 Q_CLUSTER 本身，ALT_CLUSTERS 中的每个集群是 Q_CLUSTER 加上它自己的覆盖项
    （与 django-q2 用环境变量 Q_CLUSTER_NAME 选中该集群时的合并方式相同）。返回 名称 → 配置。"""
    base = {k: v for k, v in q_cluster.items() if k != "ALT_CLUSTERS"}
    name = str(base.get("name", "default"))
    configs = {name: base}
    for alt_name, alt in (q_cluster.get("ALT_CLUSTERS") or {}).items():
        overrides = {k: v for k, v in (alt or {}).items() if k not in ("name", "cluster_name")}
        configs[str(alt_name)] = {**base, **overrides}
    return configs


def qcluster_errors(q_cluster: Mapping[str, Any], env_name: str | None = None) -> list[checks.CheckMessage]:
    """检查规则：每个集群都必须设置正整数 timeout，且 retry 大于 timeout；环境变量 Q_CLUSTER_NAME（若设置）
    必须是默认集群或 ALT_CLUSTERS 中的一个名称（否则 django-q2 会启动一个没人投递任务的空队列）。"""
    errors: list[checks.CheckMessage] = []
    configs = cluster_configs(q_cluster)
    default_name = next(iter(configs))
    for name, conf in configs.items():
        timeout = conf.get("timeout")
        retry = conf.get("retry", DEFAULT_RETRY)
        hint = (
            f"请设置环境变量 {_env_hint(name, default_name)}，"
            "使 retry 大于 timeout，且大于最长任务的运行时间。"
        )
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
            errors.append(
                checks.Error(
                    f"后台任务集群“{name}”没有设置 timeout（任务最长运行秒数），"
                    "卡住的任务会一直占用工作进程。",
                    hint=hint,
                    id="zwgk.E002",
                )
            )
            continue
        if not isinstance(retry, int) or isinstance(retry, bool) or retry <= timeout:
            errors.append(
                checks.Error(
                    f"后台任务集群“{name}”的 retry（{retry} 秒）必须大于 timeout（{timeout} 秒），"
                    "否则任务还没运行完就会被重新投递，同一任务会执行两次。",
                    hint=hint,
                    id="zwgk.E001",
                )
            )
    if env_name and env_name not in configs:
        known = "、".join(configs)
        errors.append(
            checks.Error(
                f"环境变量 Q_CLUSTER_NAME=“{env_name}” 不是已配置的后台任务集群（可用：{known}）。",
                hint="不设置 Q_CLUSTER_NAME 即为默认集群；长任务集群用 Q_CLUSTER_NAME=long。",
                id="zwgk.E003",
            )
        )
    return errors


@checks.register()
def check_qcluster(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    q_cluster = getattr(settings, "Q_CLUSTER", None)
    if not q_cluster:
        return []
    return qcluster_errors(q_cluster, os.environ.get("Q_CLUSTER_NAME"))
