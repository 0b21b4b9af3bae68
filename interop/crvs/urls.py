from django.urls import path
from rest_framework.routers import SimpleRouter

from interop.crvs import api

router = SimpleRouter()
router.register("crvs/events", api.CrvsEventViewSet, basename="crvs-event")
router.register("id-verifications", api.IdVerificationViewSet, basename="id-verification")

urlpatterns = [
    path("crvs/notify", api.Notify.as_view(), name="crvs-notify"),
    path("crvs/on-subscribe", api.OnSubscribe.as_view(), name="crvs-on-subscribe"),
    *router.urls,
]
