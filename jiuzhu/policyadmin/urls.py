from django.urls import path

from . import views

app_name = "policyadmin"
urlpatterns = [
    path("parameters/", views.parameter_tree, name="parameter_tree"),
    path("parameters/<str:key>/", views.parameter_detail, name="parameter_detail"),
    path("parameters/<str:key>/change/", views.parameter_change, name="parameter_change"),
    path("parameters/<str:key>/confirm/", views.parameter_confirm, name="parameter_confirm"),
]
