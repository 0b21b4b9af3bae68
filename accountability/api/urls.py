from django.urls import path

from accountability.api import views

urlpatterns = [
    path("dashboard/", views.DashboardView.as_view(), name="accountability-dashboard"),
    path("dashboard/export/", views.DashboardExportView.as_view(), name="accountability-dashboard-export"),
]
