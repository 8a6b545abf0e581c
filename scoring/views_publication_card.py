"""页面：下载一条发布信息的《上网信息审批卡》（docx）。

能看到这条信息的人都能下载（承办股室、办公室、局长）；看不到的 404。生成写审计日志。
（视图放在 scoring：审批卡用 scoring/reports 的公文版式，而 workplan 不引用 scoring。）
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from scoring.reports.approval_card import approval_card_filename, build_approval_card
from scoring.reports.gongwen import docx_response
from workplan import access
from workplan.audit import audit_record
from workplan.models import OfficeSettings, PublicationReview, User


@login_required
@require_GET
def publication_card(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    item = access.get_publication_for_user(user, pk)
    steps = PublicationReview.objects.filter(item=item).order_by("at", "pk")
    payload = build_approval_card(item, list(steps), unit_name=OfficeSettings.current().unit_name)
    audit_record(action="publication.card", user=user, obj=item, request=request)
    return docx_response(payload, filename=approval_card_filename(item))
