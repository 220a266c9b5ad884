from django.urls import include, path

from feedback.audit import views as audit_views
from feedback.board import views as board_views
from feedback.cases import journey_views, views
from feedback.linking import views as linking_views
from feedback.replies import views as reply_views
from feedback.routing import views as rule_views
from feedback.sla import views as notification_views
from feedback.understanding import views as understanding_views

urlpatterns = [
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/bulk/", views.inbox_bulk, name="inbox-bulk"),
    path("inbox/views/", views.saved_view_create, name="saved-view-create"),
    path("inbox/views/<int:view_id>/delete/", views.saved_view_delete, name="saved-view-delete"),
    path("cases/<int:case_id>/", views.case_detail, name="case-detail"),
    # The reply goes out through the replies room (before the generic case actions: same URL shape).
    path("cases/<int:case_id>/reply/", reply_views.compose, name="reply-compose"),
    path("cases/<int:case_id>/reply/draft/", reply_views.draft, name="reply-draft"),
    path("cases/<int:case_id>/presence/", reply_views.presence_poll, name="case-presence"),
    path("cases/<int:case_id>/<slug:action>/", views.case_action, name="case-action"),
    path("board/", board_views.board, name="board"),
    path("board/print/", board_views.board_print, name="board-print"),
    path("board/csv/<slug:chart_id>/", board_views.board_csv, name="board-csv"),
    path("board/promises/<slug:slug>/", board_views.board_promise, name="board-promise"),
    path("board/suggestions/<int:suggestion_id>/confirm/", board_views.confirm_suggestion,
         name="board-confirm-suggestion"),
    path("replies/approvals/", reply_views.approvals, name="reply-approvals"),
    path("replies/<int:reply_id>/approve/", reply_views.approve, name="reply-approve"),
    path("replies/<int:reply_id>/reject/", reply_views.reject, name="reply-reject"),
    path("replies/<int:reply_id>/resend/", reply_views.resend, name="reply-resend"),
    path("replies/canned/", reply_views.canned_list, name="canned-list"),
    path("replies/canned/new/", reply_views.canned_create, name="canned-create"),
    path("replies/canned/<int:canned_id>/", reply_views.canned_edit, name="canned-edit"),
    path("replies/canned/<int:canned_id>/delete/", reply_views.canned_delete, name="canned-delete"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("settings/", notification_views.personal_settings, name="settings"),
    path("audit/", audit_views.audit_log, name="audit-log"),
    path("routing/rules/", rule_views.rule_list, name="rule-list"),
    path("routing/rules/new/", rule_views.rule_create, name="rule-create"),
    path("routing/rules/test/", rule_views.rule_test, name="rule-test-new"),
    path("routing/rules/reorder/", rule_views.rule_reorder, name="rule-reorder"),
    path("routing/rules/<int:rule_id>/", rule_views.rule_edit, name="rule-edit"),
    path("routing/rules/<int:rule_id>/test/", rule_views.rule_test, name="rule-test"),
    path("routing/rules/<int:rule_id>/move/<str:direction>/", rule_views.rule_move, name="rule-move"),
    path("routing/rules/<int:rule_id>/toggle/", rule_views.rule_toggle, name="rule-toggle"),
    path("routing/rules/<int:rule_id>/delete/", rule_views.rule_delete, name="rule-delete"),
    path("me/away/", rule_views.toggle_away, name="toggle-away"),
    path("incoming/", journey_views.incoming, name="incoming"),
    path("handoffs/<int:handoff_id>/accept/", journey_views.handoff_accept, name="handoff-accept"),
    path("handoffs/<int:handoff_id>/return/", journey_views.handoff_return, name="handoff-return"),
    path("feedback/", journey_views.feedback_list, name="feedback-list"),
    path("feedback/<int:feedback_id>/acknowledge/", journey_views.feedback_acknowledge, name="feedback-acknowledge"),
    path("problems/", journey_views.problem_list, name="problems"),
    path("problems/<int:problem_id>/", journey_views.problem_detail, name="problem-detail"),
    path("problems/<int:problem_id>/resolve/", journey_views.problem_resolve, name="problem-resolve"),
    path("promises/", understanding_views.promise_list, name="promise-list"),
    path("promises/new/", understanding_views.promise_create, name="promise-create"),
    path("promises/<slug:slug>/", understanding_views.promise_detail, name="promise-detail"),
    path("promises/<slug:slug>/edit/", understanding_views.promise_edit, name="promise-edit"),
    path("promises/<slug:slug>/toggle/", understanding_views.promise_toggle, name="promise-toggle"),
    path("promises/<slug:slug>/delete/", understanding_views.promise_delete, name="promise-delete"),
    path("integrations/", include("feedback.integrations.urls")),
    path("cases/<int:case_id>/mentions/<int:mention_id>/labels/", understanding_views.label_correct,
         name="label-correct"),
    path("customers/<int:customer_id>/merge/", linking_views.customer_merge, name="customer-merge"),
    path("customers/<int:customer_id>/export/", linking_views.customer_export, name="customer-export"),
    path("customers/<int:customer_id>/erase/", linking_views.customer_erase, name="customer-erase"),
    path("suggestions/<int:suggestion_id>/<slug:decision>/", linking_views.suggestion_decide,
         name="suggestion-decide"),
]
