"""本人的通知：列表、未读数、标为已读（页面用；生成通知的是 workplan.reminders）。"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from workplan.models import Notification, User


def notifications_for_user(user: User) -> QuerySet[Notification]:
    """本人的通知，新的在前。"""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_count(user: User) -> int:
    """未读通知数（一次查询）。"""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_for_user(user: User, pk: int) -> Notification:
    """取本人的通知；别人的通知一律 404。"""
    return get_object_or_404(Notification, pk=pk, user=user)


def notifications_mark_read(*, user: User, notification: Notification | None = None) -> int:
    """把本人的一条（或全部）未读通知标为已读，返回标记的条数。已读的保持原已读时间。"""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification is not None:
        qs = qs.filter(pk=notification.pk)
    return qs.update(read_at=timezone.now())
