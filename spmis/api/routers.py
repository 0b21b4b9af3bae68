"""The router every app mounts its viewsets with: DRF's DefaultRouter, whose browsable root only lists links and
so needs nothing but a login (declared, since RolePermission refuses views that declare nothing)."""

from rest_framework import routers


class ApiRootView(routers.APIRootView):
    required_permissions: list[str] = []


class Router(routers.DefaultRouter):
    APIRootView = ApiRootView
