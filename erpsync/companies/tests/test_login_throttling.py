"""Wrong passwords in a row lock a user name (or an address) out for a while; an administrator can unlock it."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from erpsync.erp.models import AuditEvent

LOGIN = reverse("login")


def sign_in(client, username, password, address="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(response) -> bool:
    return response.status_code == 302 and response.url == "/"


@pytest.fixture
def limit(settings):
    return settings.AXES_FAILURE_LIMIT


def test_a_few_wrong_passwords_are_answered_with_the_usual_message(client, admin, limit):
    for _ in range(limit - 1):
        response = sign_in(client, "admin", "wrong")
        assert response.status_code == 200
        assert "That user name and password do not match" in response.content.decode()
    assert signed_in(sign_in(client, "admin", "pw-admin"))


def test_after_the_limit_even_the_right_password_waits_and_the_lockout_is_audited(client, admin, company, limit):
    for _ in range(limit):
        sign_in(client, "admin", "wrong")
    response = sign_in(client, "admin", "pw-admin")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many wrong passwords" in page and "15 minutes" in page
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(company=company, action="user.locked_out")
    assert event.object_repr == "admin" and event.after == {"address": "10.0.0.1", "minutes": 15}


def test_the_user_name_is_locked_from_every_address(client, admin, limit):
    for n in range(limit):
        sign_in(client, "admin", "wrong", address=f"10.0.0.{n + 1}")
    assert sign_in(client, "admin", "pw-admin", address="10.9.9.9").status_code == 429


def test_an_address_trying_many_user_names_is_locked_for_all_of_them(client, admin, pm, limit, company):
    for n in range(limit):
        sign_in(client, f"guess{n}", "wrong", address="10.6.6.6")
    assert sign_in(client, "pm", "pw-pm", address="10.6.6.6").status_code == 429
    assert signed_in(sign_in(client, "pm", "pw-pm", address="10.0.0.2"))  # others are not held up
    assert not AuditEvent.objects.filter(action="user.locked_out").exists()  # pm never typed a wrong password


def test_unlocking_what_is_not_locked_says_so_and_records_nothing(admin, company):
    from django.core.management import CommandError

    out = io.StringIO()
    call_command("login_unlock", "admin", stdout=out)
    assert "User name admin was not locked out; nothing to do." in out.getvalue()
    assert not AuditEvent.objects.filter(action="user.unlocked").exists()
    with pytest.raises(CommandError, match="'not-an-ip' is not an IP address"):
        call_command("login_unlock", "admin", "--address", "not-an-ip")


def test_an_administrator_unlocks_a_user_name_and_it_is_audited(client, admin, company, limit):
    for _ in range(limit):
        sign_in(client, "admin", "wrong")
    out = io.StringIO()
    call_command("login_unlock", "admin", "--address", "10.0.0.1", stdout=out)
    assert "Unlocked user name admin and address 10.0.0.1" in out.getvalue()
    assert signed_in(sign_in(client, "admin", "pw-admin"))
    assert AuditEvent.objects.filter(company=company, action="user.unlocked").count() == 1


def test_the_lockout_ends_by_itself(client, admin, limit, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt

    for _ in range(limit):
        sign_in(client, "admin", "wrong")
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    assert signed_in(sign_in(client, "admin", "pw-admin"))
