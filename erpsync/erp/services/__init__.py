"""The rules of the ERP Integrations tool. Views, commands and tasks call only these."""

from erpsync.erp.services.archive import erp_job_archive, erp_job_unarchive
from erpsync.erp.services.importing import erp_job_import, project_limit_reached
from erpsync.erp.services.linking import cost_codes_preview, cost_codes_refresh, erp_job_link, erp_job_unlink, link_preview, link_suggestions
from erpsync.erp.services.job_costs import job_costs_sync, job_costs_sync_enqueue
from erpsync.erp.services.refresh import erp_refresh, erp_refresh_enqueue
from erpsync.erp.services.settings import erp_connection_save, erp_connection_test, erp_settings_update
from erpsync.erp.services.validate import erp_job_validate

__all__ = [
    "cost_codes_preview",
    "cost_codes_refresh",
    "erp_job_link",
    "erp_job_unlink",
    "link_preview",
    "link_suggestions",
    "erp_connection_save",
    "erp_connection_test",
    "erp_job_archive",
    "erp_job_import",
    "erp_job_unarchive",
    "erp_job_validate",
    "erp_refresh",
    "erp_refresh_enqueue",
    "erp_settings_update",
    "job_costs_sync",
    "job_costs_sync_enqueue",
    "project_limit_reached",
]
