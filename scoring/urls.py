"""考核评分的页面路由（挂在 /scoring/ 下）。"""

from django.urls import path

from scoring import views

urlpatterns = [
    path("", views.score_overview, name="score_overview"),
    path("scores/<int:pk>/", views.score_detail, name="score_detail"),
    path("lines/<int:pk>/", views.ledger_line_detail, name="ledger_line_detail"),
    path("manual/", views.manual_facts, name="manual_facts"),
    path("manual/save/", views.manual_fact_save, name="manual_fact_save"),
    path("manual/<int:pk>/delete/", views.manual_fact_delete, name="manual_fact_delete"),
    path("manual/<int:pk>/evidence/", views.manual_fact_evidence, name="manual_fact_evidence"),
    path("compute/", views.compute, name="score_compute"),
    path("compute/run/", views.compute_run, name="score_compute_run"),
    path("whatif/", views.whatif, name="score_whatif"),
    path("whatif/run/", views.whatif_run, name="score_whatif_run"),
]
