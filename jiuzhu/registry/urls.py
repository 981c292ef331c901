from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("households/", views.household_list, name="household_list"),
    path("households/new/", views.household_create, name="household_create"),
    path("households/<int:pk>/", views.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", views.household_edit, name="household_edit"),
    path("households/<int:pk>/persons/new/", views.person_add, name="person_add"),
    path("persons/<int:pk>/", views.person_detail, name="person_detail"),
    path("persons/<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("reveal/<str:kind>/<int:pk>/", views.reveal, name="reveal"),
    path("households/export/", views.household_list, name="household_export"),  # placeholder until exports land
    # import and export routes (views_import.py)
    path("import/", views.household_list, name="import"),
]
