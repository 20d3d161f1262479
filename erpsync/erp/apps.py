from django.apps import AppConfig


class ErpConfig(AppConfig):
    name = "erpsync.erp"
    verbose_name = "ERP Integrations"
