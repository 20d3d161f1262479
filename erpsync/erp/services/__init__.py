"""The rules of the ERP Integrations tool. Views, commands and tasks call only these."""

from erpsync.erp.services.archive import erp_job_archive, erp_job_unarchive
from erpsync.erp.services.importing import erp_job_import, project_limit_reached
from erpsync.erp.services.job_costs import job_costs_sync, job_costs_sync_enqueue
from erpsync.erp.services.refresh import erp_refresh, erp_refresh_enqueue
from erpsync.erp.services.settings import erp_connection_save, erp_connection_test, erp_settings_update
from erpsync.erp.services.validate import erp_job_validate

__all__ = [
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
