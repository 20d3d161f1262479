import pytest

from erpsync.companies.models import AccessLevel, Membership
from erpsync.companies import permissions as p

L = AccessLevel


@pytest.mark.parametrize(
    "erp, directory, create, push, expected",
    [
        # erp level, directory level, create-project, push-to-accounting → (view, manage, import, refresh, admin)
        (L.NONE, L.ADMIN, True, True, (False, False, False, False, False)),
        (L.READ_ONLY, L.ADMIN, True, True, (True, False, False, False, False)),
        (L.STANDARD, L.NONE, False, False, (True, True, False, False, False)),
        (L.STANDARD, L.NONE, True, False, (True, True, True, False, False)),
        (L.STANDARD, L.ADMIN, False, False, (True, True, True, False, False)),
        (L.STANDARD, L.STANDARD, False, True, (True, True, False, True, False)),
        (L.ADMIN, L.NONE, False, False, (True, True, False, False, True)),
        (L.ADMIN, L.NONE, True, True, (True, True, True, True, True)),
    ],
)
def test_the_permission_matrix_of_the_reference_product(erp, directory, create, push, expected):
    m = Membership(erp_level=erp, directory_level=directory, can_create_project=create, can_push_to_accounting=push)
    got = (p.can_view_erp(m), p.can_manage_erp_jobs(m), p.can_import_erp_job(m), p.can_refresh_erp(m), p.can_administer_erp(m))
    assert got == expected


def test_no_membership_may_do_nothing():
    assert not any(f(None) for f in (p.can_view_erp, p.can_manage_erp_jobs, p.can_import_erp_job, p.can_refresh_erp, p.can_administer_erp))
