"""What every answer tells the browser: a Content-Security-Policy without inline code, and in production HSTS too."""

import os
import secrets
import subprocess
import sys

from django.conf import settings

PRODUCTION = {"ERPSYNC_DEBUG": "0", "ERPSYNC_SECRET_KEY": secrets.token_urlsafe(50), "ERPSYNC_ENCRYPTION_KEY": "x" * 43 + "=",
              "ERPSYNC_ALLOWED_HOSTS": "erp.example.com", "DATABASE_URL": "sqlite:///:memory:"}


def production(*args: str) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}, **PRODUCTION}  # set by browser tests
    return subprocess.run([sys.executable, *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


def test_pages_forbid_inline_scripts_styles_and_eval(client, signed_in, admin, refreshed):
    answers = [client.get("/login/")] + [signed_in(admin).get(page) for page in ("/erp/jobs/", "/projects/", "/erp/settings/")]
    for answer in answers:
        assert answer.status_code == 200
        policy = answer["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert "unsafe" not in policy


def test_templates_hold_no_inline_script_or_style():
    for folder in [settings.BASE_DIR / "templates", *sorted((settings.BASE_DIR / "erpsync").glob("*/templates"))]:
        for template in folder.rglob("*.html"):
            text = template.read_text()
            for needle in ("<script>", "<style", " style=", " onclick=", " onchange=", " hx-on", "javascript:"):
                assert needle not in text, f"{template.relative_to(settings.BASE_DIR)} has {needle.strip()!r}"


def test_production_settings_pass_djangos_deployment_check():
    result = production("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_answers_carry_hsts_and_the_rest():
    script = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'erpsync.settings'); django.setup()\n"
        "from django.test import Client\n"
        "r = Client(HTTP_HOST='erp.example.com').get('/login/', secure=True)\n"
        "for h in ('Strict-Transport-Security', 'Content-Security-Policy', 'X-Content-Type-Options', 'Referrer-Policy'):\n"
        "    print(h + ': ' + r.get(h, '(none)'))\n"
        "print('plain: ' + str(Client(HTTP_HOST='erp.example.com').get('/login/').status_code))\n"
    )
    result = production("-c", script)
    assert result.returncode == 0, result.stderr
    headers = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"
    assert headers["plain"] == "301"  # plain HTTP is sent to HTTPS
