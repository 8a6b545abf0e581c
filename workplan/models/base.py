"""几个模型共用的抽象基类：登记台账的登记时间与更新时间。"""

from __future__ import annotations

from django.db import models


class RegisteredRecord(models.Model):
    """登记台账（依申请公开登记簿、发布信息登记台账）的一行：登记时间在创建时记下，更新时间每次保存时更新。

    登记人、提交人与乐观锁的 version 留在各模型里：登记人的名称各不相同（登记人、拟稿人），
    提交与版本只有发布信息才有。
    """

    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        abstract = True
