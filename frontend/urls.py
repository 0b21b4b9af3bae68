from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import accountability_pages, changes, credentials, grievance_pages, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("map/", views.map_page, name="map"),
    path("map/household-density.json", views.household_density, name="household-density"),
    path("incidents/<int:incident_id>/dashboard/", views.dashboard, name="dashboard"),
    path("incidents/<int:incident_id>/runs/<int:run_id>/affected/", views.affected_list, name="affected"),
    path("layers/", views.analyst, name="analyst"),
    path("programs/", views.program_list, name="programs"),
    path("programs/rules/", views.rule_editor, name="rules"),
    path("programs/<int:program_id>/", views.program_detail, name="program"),
    path("programs/<int:program_id>/rule/", views.rule_editor, name="program-rule"),
    path("programs/simulations/<int:simulation_id>/", views.simulation_detail, name="simulation"),
    path("programs/cycles/<int:cycle_id>/", views.cycle_detail, name="cycle"),
    path("programs/payments/batches/<int:batch_id>/", views.payment_batch_detail, name="payment-batch"),
    path("programs/payments/households/<int:household_id>/", views.household_payments, name="household-payments"),
    path("distribution/", views.stock_page, name="distribution-stock"),
    path("distribution/movements/", views.movements_page, name="distribution-movements"),
    path("distribution/plans/", views.plans_page, name="distribution-plans"),
    path("distribution/plans/<int:plan_id>/", views.plan_page, name="distribution-plan"),
    path("distribution/points/<int:point_id>/redeem/", views.redeem_page, name="distribution-redeem"),
    path("distribution/sw.js", views.redeem_service_worker, name="distribution-sw"),
    path("verify/", credentials.verifier, name="credential-verifier"),
    path("verify/verifier.js", credentials.verifier_js, name="credential-verifier-js"),
    path("verify/sw.js", credentials.verifier_sw, name="credential-verifier-sw"),
    path("", views.home, name="home"),
]

# Grievance pages (frontend/grievance_pages.py).
urlpatterns += grievance_pages.urlpatterns

# The reviewer's change requests (frontend/changes.py).
urlpatterns += [
    path("registry/changes/", changes.change_list, name="registry-changes"),
    path("registry/changes/<int:change_id>/approve/", changes.change_approve, name="registry-change-approve"),
    path("registry/changes/<int:change_id>/reject/", changes.change_reject, name="registry-change-reject"),
]

# Accountability pages (frontend/accountability_pages.py).
urlpatterns += [
    path("accountability/", accountability_pages.dashboard_page, name="accountability-dashboard"),
    path("accountability/audit/", accountability_pages.audit_page, name="accountability-audit"),
    path(
        "accountability/audit/<slug:table>/<int:row_id>/",
        accountability_pages.audit_record_page,
        name="accountability-record",
    ),
    path("accountability/indicators/", accountability_pages.indicators_page, name="accountability-indicators"),
]
