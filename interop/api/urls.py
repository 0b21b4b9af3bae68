urlpatterns: list = []
from interop.crvs.urls import urlpatterns as crvs_urlpatterns  # noqa: E402

urlpatterns += crvs_urlpatterns
