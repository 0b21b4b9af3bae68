urlpatterns: list = []
from interop.dci.urls import urlpatterns as dci_urlpatterns  # noqa: E402

urlpatterns += dci_urlpatterns
from interop.crvs.urls import urlpatterns as crvs_urlpatterns  # noqa: E402

urlpatterns += crvs_urlpatterns
