"""根路由。"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from workplan.views_auth import LoginView

admin.site.site_header = "政务公开任务落实与考核系统 管理后台"
admin.site.site_title = "政务公开管理后台"

urlpatterns = [
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("scoring/", include("scoring.urls")),
    path("", include("workplan.urls")),
]

# 上传目录（计划原件、佐证材料）不对外公开：一律经过权限检查的下载视图发送。
