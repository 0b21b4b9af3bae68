"""DCI routes under /api/v1/interop/dci/ (the spec's paths, without trailing slashes)."""

from django.urls import path

from interop.dci import api

urlpatterns = [
    path("dci/registry/sync/search", api.SyncSearch.as_view(), name="dci-sync-search"),
    path("dci/registry/search", api.AsyncSearch.as_view(), name="dci-search"),
    path("dci/registry/sync/txn/status", api.SyncTxnStatus.as_view(), name="dci-sync-txn-status"),
    path("dci/registry/txn/status", api.AsyncTxnStatus.as_view(), name="dci-txn-status"),
]
