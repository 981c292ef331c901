from django.urls import path

from . import views, views_bulk

app_name = "verification"
urlpatterns = [
    path("verification/runs/<int:pk>/", views.run_report, name="report"),
    path("verification/runs/<int:pk>.pdf", views.run_pdf, name="pdf"),
    path("verification/runs/<int:pk>/records/<slug:source>/", views.run_records, name="records"),
    # bulk re-verification (views_bulk.py)
    path("verification/bulk/", views_bulk.bulk_page, name="bulk"),
    path("verification/bulk/<int:pk>/", views_bulk.bulk_job, name="bulk_job"),
    path("verification/bulk/<int:pk>/progress/", views_bulk.bulk_job_progress, name="bulk_job_progress"),
]
