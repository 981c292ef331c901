from django.urls import path

from . import views

app_name = "verification"
urlpatterns = [
    path("verification/runs/<int:pk>/", views.run_report, name="report"),
    path("verification/runs/<int:pk>.pdf", views.run_pdf, name="pdf"),
    path("verification/runs/<int:pk>/records/<slug:source>/", views.run_records, name="records"),
]
