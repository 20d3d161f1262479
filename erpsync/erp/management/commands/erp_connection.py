"""Manage ERP connections: add, edit, test, list. Secrets are asked for, never given as arguments."""

import getpass
import json
import shlex
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from erpsync.connectors import registry
from erpsync.connectors.cmic.source import PARALLEL_REQUESTS
from erpsync.erp.connection_forms import connection_form, initial_from, secrets_from
from erpsync.erp.management.commands._common import ErpCommand
from erpsync.erp.services import erp_connection_save, erp_connection_test


class Command(ErpCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["add", "edit", "test", "list"])
        parser.add_argument("name", nargs="?", help="the connection's name (add, edit, test)")
        parser.add_argument("--user", help="the ERP admin making the change (add, edit, test)")
        parser.add_argument("--kind", choices=sorted(registry.SOURCES), default="cmic", help="connector kind (add)")
        parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help="a setting, e.g. --set base_url=https://… --set company_codes=DB01,DB02 (repeatable)")
        parser.add_argument("--secret", action="append", default=[], metavar="NAME",
                            help="ask for this secret (password, client_secret); read from standard input when not a terminal")
        self.add_company_argument(parser)
        self.add_json_argument(parser)

    def handle(self, *args, action, name, **options):
        user = self.user(options["user"]) if options["user"] else None
        company = self.company(options["company"], user)
        if action == "list":
            return self._list(company, options["json"])
        if not name:
            raise CommandError(f"Name the connection: erp_connection {action} NAME.")
        if user is None:
            raise CommandError("Say which ERP admin makes the change with --user.")
        if action == "test":
            connection = self.connection(company, name)
            connection = erp_connection_test(connection=connection, user=user)
            for line in connection.last_test_report:
                mark = "FAIL" if not line["ok"] else "warn" if line.get("warning") else "ok  "
                self.stdout.write(f"{mark} {line['subject']}: {line['message']}")
            if not connection.last_test_ok:
                raise CommandError("The connection test found problems.")
            return
        connection = self.connection(company, name) if action == "edit" else None
        kind = connection.kind if connection else options["kind"]
        data = dict(initial_from(connection)) if connection else {"name": name, "page_size": 500, "timeout": 30, "auth": "basic"}
        if kind == "cmic":
            data.setdefault("parallel_requests", PARALLEL_REQUESTS)  # connections saved before it was a setting
        for pair in options["set"]:
            key, sep, value = pair.partition("=")
            if not sep:
                raise CommandError(f"--set takes KEY=VALUE, not {pair!r}.")
            known = set(connection_form(kind).fields) - {"name"}
            if key.strip() not in known:
                raise CommandError(f"{key.strip()!r} is not a setting of a {registry.LABELS[kind]} connection; "
                                   f"the settings are {', '.join(sorted(known))}.")
            if key.strip() in registry.SECRET_SETTINGS.get(kind, ()):
                raise CommandError(f"A {key.strip()} is never given on the command line, where the shell's history and the process "
                                   f"list keep it; use --secret {key.strip()} and type it at the prompt, or pipe it on standard input.")
            data[key.strip()] = value
        for key in ("attributes", "resources"):
            if isinstance(data.get(key), dict):
                data[key] = json.dumps(data[key])
        secrets = {s: self._ask(s) for s in options["secret"]}
        form = connection_form(kind, {**{k: v for k, v in data.items() if v is not None}, **secrets},
                               stored_secrets=connection.get_secrets() if connection else {})
        if not form.is_valid():
            problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
            raise CommandError(f"The connection was not saved: {problems}")
        try:
            connection = erp_connection_save(company=company, user=user, kind=kind, name=form.cleaned_data["name"],
                                             settings=form.settings(), secrets=secrets_from(form), connection=connection)
        except ValidationError as exc:
            raise CommandError(f"The connection was not saved: {' '.join(exc.messages)}") from None
        hint = ["manage.py", "erp_connection", "test", connection.name, "--user", user.username]
        if user.memberships.count() > 1:
            hint += ["--company", company.slug]
        self.stdout.write(f"Saved {connection.name} ({connection.get_kind_display()}). Test it: {shlex.join(hint)}")

    def _ask(self, name: str) -> str:
        if sys.stdin.isatty():
            return getpass.getpass(f"{name}: ")
        return sys.stdin.readline().rstrip("\n")

    def _list(self, company, as_json: bool):
        rows = [{"name": c.name, "kind": c.kind, "settings": c.settings,
                 "last_test": c.last_test_at.isoformat() if c.last_test_at else None, "last_test_ok": c.last_test_ok}
                for c in company.erp_connections.order_by("name")]
        if as_json:
            return self.print_json(rows)
        for r in rows:
            state = "never tested" if r["last_test"] is None else ("works" if r["last_test_ok"] else "has problems")
            self.stdout.write(f"{r['name']:<30} {r['kind']:<11} {state}")
