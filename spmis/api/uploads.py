"""Upload limits for API views: the body streams to a temporary file and reading stops as soon as it passes the
view's limit, so an oversized upload costs neither memory nor disk; the view then answers 400 with both sizes."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler

from spmis.core.uploads import human_size, upload_size_check


class LimitedUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.too_large = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.file.close()
            self.too_large = True
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)


class LimitedUploadMixin:
    """For a view that takes a file: `upload_limit_settings` names the SPMIS settings whose largest value bounds the
    request body; `upload_check(request, upload, limit_setting)` applies the exact limit for this upload."""

    upload_limit_settings: tuple[str, ...] = ()

    def initialize_request(self, request, *args, **kwargs):
        # The handler must be in place before anything reads the body: session authentication's CSRF check
        # parses a multipart POST before the view runs.
        if request.method in ("POST", "PUT", "PATCH"):
            limit = max(settings.SPMIS[name] for name in self.upload_limit_settings)
            request.upload_handlers = [LimitedUploadHandler(request, limit=limit)]
        return super().initialize_request(request, *args, **kwargs)

    def upload_check(self, request, upload, limit_setting: str | None = None, *, field: str = "file") -> None:
        request.data  # noqa: B018  (parses the body: the handler stops an oversized file while it streams)
        handlers = getattr(request._request, "upload_handlers", [])
        stopped = next((h for h in handlers if isinstance(h, LimitedUploadHandler) and h.too_large), None)
        if stopped is not None:
            raise ValidationError({field: f"The file is larger than the limit ({human_size(stopped.limit)})."})
        if upload is not None and limit_setting is not None:
            upload_size_check(upload.size, settings.SPMIS[limit_setting], field=field)
