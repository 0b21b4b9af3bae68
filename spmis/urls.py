from django.conf import settings
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "spmis administration"
admin.site.site_title = "spmis"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("spmis.api.urls")),
    path(".well-known/", include("programs.credentials.wellknown_urls")),
    path("oid4vci/", include("programs.credentials.oid4vci_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("frontend.urls")),
]
urlpatterns.insert(-1, path("public/v1/grievances/", include("grievances.api.public_urls")))

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Pages keep their top bar when refused or missing, and say why; API paths get JSON.
handler403 = "frontend.views.permission_denied"
handler404 = "frontend.views.page_not_found"

urlpatterns += [path(".well-known/dci/", include("interop.dci.wellknown_urls"))]
