from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("cases/<int:case_id>/", views.case_detail, name="case-detail"),
    path("cases/<int:case_id>/<slug:action>/", views.case_action, name="case-action"),
    path("board/", views.board, name="board"),
]
