from django.urls import path

from . import views, views_import

app_name = "registry"
urlpatterns = [
    path("households/", views.household_list, name="household_list"),
    path("households/new/", views.household_create, name="household_create"),
    path("households/<int:pk>/", views.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", views.household_edit, name="household_edit"),
    path("households/<int:pk>/persons/new/", views.person_add, name="person_add"),
    path("persons/<int:pk>/", views.person_detail, name="person_detail"),
    path("persons/<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("persons/<int:pk>/leave/", views.person_leave, name="person_leave"),
    path("reveal/<str:kind>/<int:pk>/", views.reveal, name="reveal"),
    # import and export routes (views_import.py)
    path("households/export/", views_import.household_export, name="household_export"),
    path("import/", views_import.import_page, name="import"),
    path("import/template/", views_import.import_template, name="import_template"),
    path("import/<int:pk>/", views_import.import_job, name="import_job"),
    path("import/<int:pk>/progress/", views_import.import_job_progress, name="import_job_progress"),
    path("import/<int:pk>/errors/", views_import.import_errors, name="import_errors"),
]
