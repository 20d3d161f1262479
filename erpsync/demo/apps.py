from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "erpsync.demo"
