from django.urls import path

from grievances.api import views
from spmis.api.routers import Router

router = Router()
router.register("categories", views.CategoryViewSet, basename="grievance-category")
router.register("teams", views.TeamViewSet, basename="grievance-team")
router.register("tickets", views.TicketViewSet, basename="grievance-ticket")
router.register("sms-outbox", views.MessageViewSet, basename="grievance-sms-outbox")

urlpatterns = [
    *router.urls,
    path("statistics/", views.StatisticsView.as_view(), name="grievance-statistics"),
]
