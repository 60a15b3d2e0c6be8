from django.urls import path

from egov.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("todos/", views.todo_list, name="todo_list"),
    path("display/large-text/", views.toggle_large_text, name="toggle_large_text"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
]
