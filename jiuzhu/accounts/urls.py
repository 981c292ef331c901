from django.contrib.auth import views as auth_views
from django.urls import path

app_name = "accounts"
urlpatterns = [
    # Placeholder until the login policy lands (accounts helper replaces this file).
    path("login/", auth_views.LoginView.as_view(template_name="web/base.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
