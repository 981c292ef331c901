"""政策评估 of a registry household (``/households/<pk>/evaluate/``), next to the household's own pages."""

from django.urls import path

from . import views_evaluate

app_name = "policy_evaluate"
urlpatterns = [
    path("households/<int:pk>/evaluate/", views_evaluate.household_evaluate, name="household_evaluate"),
]
