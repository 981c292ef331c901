from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/totp/", views.login_totp, name="login_totp"),
    path("login/enroll/", views.login_enroll, name="login_enroll"),
    path("logout/", views.logout_view, name="logout"),
    path("account/password/", views.password_change_view, name="password_change"),
    path("account/totp/", views.totp_setup, name="totp_setup"),
    path("account/users/", views.user_list, name="users"),
    path("account/users/new/", views.user_create_view, name="user_create"),
    path("account/users/<int:pk>/disable/", views.user_action, {"action": "disable"}, name="user_disable"),
    path("account/users/<int:pk>/enable/", views.user_action, {"action": "enable"}, name="user_enable"),
    path("account/users/<int:pk>/unlock/", views.user_action, {"action": "unlock"}, name="user_unlock"),
    path("account/users/<int:pk>/reset/", views.user_action, {"action": "reset"}, name="user_reset"),
]
