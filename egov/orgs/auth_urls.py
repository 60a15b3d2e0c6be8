"""Identity screens, mounted at accounts/ (namespace "accounts")."""

from django.urls import path

from egov.orgs import auth_views

app_name = "accounts"
urlpatterns = [
    path("login/", auth_views.login_view, name="login"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("otp/", auth_views.otp_verify, name="otp_verify"),
    path("otp/setup/", auth_views.otp_setup, name="otp_setup"),
    path("password/", auth_views.password_change, name="password_change"),
    path("position/", auth_views.switch_position, name="switch_position"),
]
