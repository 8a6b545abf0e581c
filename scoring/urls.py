"""考核评分的页面路由。"""

from django.urls import path  # noqa: F401

urlpatterns: list = []
