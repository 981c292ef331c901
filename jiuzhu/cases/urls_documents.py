"""A case's printable documents (staff) and the public check of a document's verification code."""

from django.urls import path

from . import views_documents

app_name = "case_documents"
urlpatterns = [
    path("cases/<int:pk>/documents/<str:kind>.pdf", views_documents.document_pdf, name="pdf"),
    path("verify/", views_documents.verify, name="verify"),
]
