"""/public/v1/grievances/: no sign-in (mounted once in spmis/urls.py)."""

from django.urls import path

from grievances.api import views

urlpatterns = [
    path("complaints/", views.PublicComplaintView.as_view(), name="grievance-public-complaint"),
    path("status/", views.PublicStatusView.as_view(), name="grievance-public-status"),
    path("sms/", views.SmsWebhookView.as_view(), name="grievance-sms-webhook"),
]
