from django.apps import AppConfig


class CompaniesConfig(AppConfig):
    name = "erpsync.companies"

    def ready(self):
        from erpsync.companies import throttle  # noqa: F401  (connects the lockout audit)
