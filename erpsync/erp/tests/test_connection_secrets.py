import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection as db

from erpsync.crypto import _fernet
from erpsync.erp.models import ErpConnection


def test_secrets_are_encrypted_at_rest(company):
    conn = ErpConnection(company=company, name="CMiC", kind="cmic_files", settings={"folder": "/x"})
    conn.set_secrets({"password": "hunter2-very-secret"})
    conn.save()
    with db.cursor() as cursor:
        cursor.execute("SELECT secrets_encrypted, settings FROM erp_erpconnection WHERE id = %s", [conn.pk])
        stored = " ".join(str(v) for v in cursor.fetchone())
    assert "hunter2" not in stored
    assert ErpConnection.objects.get(pk=conn.pk).get_secrets() == {"password": "hunter2-very-secret"}


def test_a_changed_key_gives_a_clear_error_not_garbage(company, settings):
    conn = ErpConnection(company=company, name="CMiC", kind="cmic_files")
    conn.set_secrets({"password": "x"})
    conn.save()
    from cryptography.fernet import Fernet

    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    _fernet.cache_clear()
    try:
        with pytest.raises(ImproperlyConfigured, match="cannot be decrypted with the configured encryption key"):
            ErpConnection.objects.get(pk=conn.pk).get_secrets()
    finally:
        _fernet.cache_clear()


def test_an_old_key_still_decrypts_after_rotation(company, settings):
    from cryptography.fernet import Fernet

    conn = ErpConnection(company=company, name="CMiC", kind="cmic_files")
    conn.set_secrets({"password": "x"})
    conn.save()
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.ENCRYPTION_KEYS]
    _fernet.cache_clear()
    try:
        assert ErpConnection.objects.get(pk=conn.pk).get_secrets() == {"password": "x"}
    finally:
        _fernet.cache_clear()
