"""The organisation tree and people (mounted at orgs/, namespace "orgs")."""

from django.urls import path

from egov.orgs import views

app_name = "orgs"
urlpatterns = [
    path("", views.organisation_list, name="organisation_list"),
    path("new/", views.organisation_create, name="organisation_create"),
    path("export/", views.organisation_export, name="organisation_export"),
    path("import/", views.organisation_import, name="organisation_import"),
    path("<uuid:org_id>/", views.organisation_detail, name="organisation_detail"),
    path("<uuid:org_id>/edit/", views.organisation_edit, name="organisation_edit"),
    path(
        "<uuid:org_id>/deactivate/", views.organisation_deactivate, name="organisation_deactivate"
    ),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/export/", views.user_export, name="user_export"),
    path("users/import/", views.user_import, name="user_import"),
    path("users/<uuid:user_id>/", views.user_detail, name="user_detail"),
    path("users/<uuid:user_id>/edit/", views.user_edit, name="user_edit"),
    path("users/<uuid:user_id>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<uuid:user_id>/unlock/", views.user_unlock, name="user_unlock"),
    path("users/<uuid:user_id>/positions/add/", views.position_add, name="position_add"),
    path("positions/<uuid:position_id>/remove/", views.position_remove, name="position_remove"),
    path("positions/<uuid:position_id>/roles/", views.position_roles, name="position_roles"),
]
