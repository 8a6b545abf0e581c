"""根路由。"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from workplan.views_auth import LoginView
from workplan.views_password import PasswordChangeDoneView, PasswordChangeView

admin.site.site_header = "政务公开任务落实与考核系统 管理后台"
admin.site.site_title = "政务公开管理后台"

urlpatterns = [
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_change/done/", PasswordChangeDoneView.as_view(), name="password_change_done"),
    # The admin's own "修改密码" link leads to the same page (it records the change time and the audit entry).
    path("admin/password_change/", PasswordChangeView.as_view()),
    path("admin/", admin.site.urls),
    path("scoring/", include("scoring.urls")),
    path("", include("workplan.urls")),
]

# 上传目录（计划原件、佐证材料）不对外公开：一律经过权限检查的下载视图发送。
