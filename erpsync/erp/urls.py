from django.shortcuts import redirect
from django.urls import path

from erpsync.erp.views import erp_settings, history, job_costs, job_detail, jobs, link, refresh

app_name = "erp"

urlpatterns = [
    path("", lambda request: redirect("erp:jobs"), name="home"),
    path("jobs/", jobs.job_list, name="jobs"),
    path("jobs/<int:pk>/", job_detail.job_detail, name="job_detail"),
    path("jobs/code/<path:code>/", job_detail.job_by_code, name="job_by_code"),  # any code, slashes too
    path("jobs/<int:pk>/add/", jobs.job_add, name="job_add"),
    path("jobs/<int:pk>/archive/", jobs.job_archive, name="job_archive"),
    path("jobs/<int:pk>/restore/", jobs.job_restore, name="job_restore"),
    path("jobs/<int:pk>/publish/", jobs.job_publish, name="job_publish"),
    path("jobs/<int:pk>/link/", link.job_link, name="job_link"),
    path("jobs/<int:pk>/link/<int:project_pk>/", link.job_link_confirm, name="job_link_confirm"),
    path("jobs/<int:pk>/unlink/", link.job_unlink, name="job_unlink"),
    path("projects/<int:pk>/cost-codes/", link.cost_codes, name="cost_codes"),
    path("refresh/", refresh.refresh, name="refresh"),
    path("refresh/progress/", refresh.progress, name="refresh_progress"),
    path("job-costs/", job_costs.job_costs, name="job_costs"),
    path("job-costs/<int:pk>.csv", job_costs.job_costs_csv, name="job_costs_csv"),
    path("job-costs/<int:pk>/sync/", job_costs.job_costs_sync_now, name="job_costs_sync"),
    path("history/", history.history, name="history"),
    path("settings/", erp_settings.settings_page, name="settings"),
    path("procore/", erp_settings.procore_edit, name="procore_edit"),
    path("procore/test/", erp_settings.procore_test, name="procore_test"),
    path("connections/new/", erp_settings.connection_edit, name="connection_new"),
    path("connections/<int:pk>/", erp_settings.connection_edit, name="connection_edit"),
    path("connections/<int:pk>/test/", erp_settings.connection_test, name="connection_test"),
]
