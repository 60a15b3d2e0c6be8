from django.urls import path

from egov.duty import views

app_name = "duty"
urlpatterns = [
    path("", views.console, name="console"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/<str:report_id>/", views.report_detail, name="report_detail"),
    path("reports/<str:report_id>/ack/", views.report_acknowledge, name="report_acknowledge"),
    path("reports/<str:report_id>/submit/<str:kind>/", views.report_submit, name="report_submit"),
    path("calls/", views.call_list, name="call_list"),
    path("calls/new/", views.call_new, name="call_new"),
    path("calls/<str:call_id>/", views.call_detail, name="call_detail"),
    path("handovers/new/", views.handover_new, name="handover_new"),
    path("handovers/<str:handover_id>/", views.handover_detail, name="handover_detail"),
    path("zero-report/", views.zero_report, name="zero_report"),
    path("roster/", views.roster, name="roster"),
    path("roster/my-shifts.ics", views.my_shifts_ics, name="my_shifts_ics"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<str:team_id>/", views.team_detail, name="team_detail"),
    path("teams/<str:team_id>/edit/", views.team_edit, name="team_edit"),
    path("teams/<str:team_id>/patterns/new/", views.pattern_new, name="pattern_new"),
    path(
        "teams/<str:team_id>/patterns/<str:pattern_id>/",
        views.pattern_edit,
        name="pattern_edit",
    ),
    path("teams/<str:team_id>/generate/", views.team_generate, name="team_generate"),
    path("shifts/<str:shift_id>/", views.shift_detail, name="shift_detail"),
    path("shifts/<str:shift_id>/assign/", views.shift_assign, name="shift_assign"),
    path(
        "assignments/<str:assignment_id>/remove/",
        views.assignment_remove,
        name="assignment_remove",
    ),
    path("assignments/<str:assignment_id>/swap/", views.swap_new, name="swap_new"),
    path("swaps/<str:swap_id>/", views.swap_detail, name="swap_detail"),
    path("log/", views.duty_log, name="duty_log"),
    path("rules/", views.rules, name="rules"),
]
