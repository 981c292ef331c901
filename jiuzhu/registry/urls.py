from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("households/", views.household_list, name="household_list"),
    path("import/", views.import_page, name="import"),
]
