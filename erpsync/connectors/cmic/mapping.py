"""CMiC items → records, shared by the export-file and REST connectors.

Attribute names come from one mapping per resource. Names tagged [guess] in the CMiC reference
are not confirmed against a live tenant: a connection can override any of them in its
settings ("attributes": {"jobs": {"name": "JobTitle"}}) without a code change.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from erpsync.connectors.base import (
    ZERO,
    BudgetLineRecord,
    ConnectorError,
    CostCodeRecord,
    CostTransactionRecord,
    CostTypeRecord,
    JobRecord,
)

TOP_LEVEL = "ALL"  # CMiC's controlling code for a control job or a top-level phase


@dataclass(frozen=True)
class Resource:
    name: str  # CMiC's resource name, also the export file's stem
    path: str  # default container/version/resource under the environment
    attributes: Mapping[str, str]  # record field → CMiC attribute
    required: tuple[str, ...]  # record fields that must be present in every item
    audit_attribute: str = ""  # the update date used for incremental pulls [guess]


RESOURCES: dict[str, Resource] = {
    "jobs": Resource(
        name="jcjob",
        path="jc-rest-api/rest/1/jcjob",
        attributes={
            "company_code": "JobCompCode",  # [guess]
            "job_code": "JobCode",
            "name": "JobName",
            "controlling_code": "JobCtrlCode",  # [guess]
            "status": "JobStatusCode",  # [guess]
            "address": "JobAddress1",  # [guess]
            "city": "JobCity",  # [guess]
            "state": "JobState",  # [guess]
            "zip": "JobZip",  # [guess]
            "start_date": "JobStartDate",  # [guess]
            "end_date": "JobEndDate",  # [guess]
            "updated_at": "JobIuUpdateDate",  # [guess]
        },
        required=("company_code", "job_code"),  # a nameless job is staged, and blocked with a reason
        audit_attribute="JobIuUpdateDate",
    ),
    "cost_codes": Resource(
        name="jcjobcostcodes",
        path="jc-rest-api/rest/1/jcjobcostcodes",
        attributes={
            "company_code": "GjjpCompCode",
            "job_code": "GjjpJobCode",
            "code": "GjjpCode",
            "name": "GjjpName",
            "parent_code": "GjjpCtrlCode",
            "active": "GjjpActiveFlag",
        },
        required=("company_code", "job_code", "code", "name"),
        audit_attribute="GjjpIuUpdateDate",
    ),
    "budget_lines": Resource(
        name="jcjobcategory",
        path="jc-rest-api/rest/1/jcjobcategory",
        attributes={
            "company_code": "JcatCompCode",
            "job_code": "JcatJobCode",
            "phase_code": "JcatPhsCode",
            "category_code": "JcatCode",
            "active": "JcatCatActiveFlag",
            "original_budget": "JcatOrigBudgetAmt",  # [guess]
            "approved_changes": "JcatBudgetChgAmt",  # [guess]
            "budget_units": "JcatBudgetUnits",  # [guess]
            "committed_cost": "JcatCommittedAmt",  # [guess]
            "percent_complete": "JcatPctComplete",  # [guess]
        },
        required=("company_code", "job_code", "phase_code", "category_code"),
        audit_attribute="JcatIuUpdateDate",
    ),
    "cost_types": Resource(
        name="jcmastercategories",
        path="jc-rest-api/rest/1/jcmastercategories",
        attributes={
            "company_code": "CatCompCode",  # [guess]
            "code": "CatCode",  # [guess]
            "name": "CatName",  # [guess]
            "parent_code": "CatCtrlCode",  # [guess]
        },
        required=("company_code", "code", "name"),
    ),
    "cost_transactions": Resource(
        name="jcdetailposted",
        path="jc-rest-api/rest/1/jcdetailposted",
        attributes={
            "company_code": "JcdtCompCode",  # [guess]
            "job_code": "JcdtJobCode",  # [guess]
            "phase_code": "JcdtPhsCode",  # [guess]
            "category_code": "JcdtCatCode",  # [guess]
            "number": "JcdtTrnNum",  # [guess]
            "posted_on": "JcdtPostDate",  # [guess]
            "amount": "JcdtAmt",  # [guess]
            "units": "JcdtUnits",  # [guess]
            "source": "JcdtSrcCode",  # [guess]
            "reference": "JcdtRef",  # [guess]
        },
        required=("company_code", "job_code", "phase_code", "category_code", "number", "posted_on", "amount"),
        audit_attribute="JcdtIuUpdateDate",
    ),
}


def attributes_for(entity: str, overrides: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, str]:
    attrs = dict(RESOURCES[entity].attributes)
    attrs.update((overrides or {}).get(entity, {}))
    return attrs


def _text(value) -> str:
    if value is None:
        return ""
    return value.strip() if type(value) is str else str(value).strip()


def parse_amount(value, *, where: str, attribute: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)  # a float's shortest repr is the value the sender meant
    try:
        amount = Decimal(value)  # the common case: a plain number
    except (InvalidOperation, TypeError, ValueError):
        text = _text(value).replace(",", "")
        if text == "":
            return ZERO
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ConnectorError(f"{where}, field {attribute}: {_text(value)!r} is not a number.") from None
    if not amount.is_finite():
        raise ConnectorError(f"{where}, field {attribute}: {_text(value)!r} is not a number.")
    return amount


def parse_date(value, *, where: str, attribute: str) -> date | None:
    text = _text(value)
    if text == "":
        return None
    try:
        # CMiC sends "2025-02-19" or a full timestamp such as "2025-02-19T00:00:00-05:00".
        return date.fromisoformat(text[:10]) if len(text) > 10 else date.fromisoformat(text)
    except ValueError:
        raise ConnectorError(
            f"{where}, field {attribute}: {text!r} is not a date (expected YYYY-MM-DD)."
        ) from None


def parse_timestamp(value, *, where: str, attribute: str) -> datetime | None:
    text = _text(value)
    if text == "":
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ConnectorError(f"{where}, field {attribute}: {text!r} is not a date and time.") from None


def parse_flag(value, *, where: str, attribute: str, default: bool = True) -> bool:
    text = _text(value).upper()
    if text == "":
        return default
    if text in ("Y", "YES", "TRUE", "1"):
        return True
    if text in ("N", "NO", "FALSE", "0"):
        return False
    raise ConnectorError(f"{where}, field {attribute}: {_text(value)!r} is not a Y/N flag.")


def _parent(value) -> str:
    text = _text(value)
    return "" if text.upper() == TOP_LEVEL else text


class CmicMapper:
    """Turns CMiC items into records through the (possibly overridden) attribute names."""

    def __init__(self, overrides: Mapping[str, Mapping[str, str]] | None = None):
        self.attrs = {entity: attributes_for(entity, overrides) for entity in RESOURCES}
        tx = self.attrs["cost_transactions"]
        self._tx_attributes = tuple(tx[f] for f in (
            "company_code", "job_code", "phase_code", "category_code", "number", "posted_on", "amount", "units", "source", "reference"
        ))

    def required_attributes(self, entity: str) -> list[str]:
        return [self.attrs[entity][f] for f in RESOURCES[entity].required]

    def _required(self, entity: str, item: Mapping, where: str) -> dict[str, str]:
        values = {}
        for field_name in RESOURCES[entity].required:
            attribute = self.attrs[entity][field_name]
            value = _text(item.get(attribute))
            if value == "":
                raise ConnectorError(f"{where}, field {attribute}: a value is required.")
            values[field_name] = value
        return values

    def job(self, item: Mapping, where: str) -> JobRecord:
        a = self.attrs["jobs"]
        req = self._required("jobs", item, where)
        return JobRecord(
            **req,
            name=_text(item.get(a["name"])),
            controlling_code=_parent(item.get(a["controlling_code"])),
            status=_text(item.get(a["status"])),
            address=_text(item.get(a["address"])),
            city=_text(item.get(a["city"])),
            state=_text(item.get(a["state"])),
            zip=_text(item.get(a["zip"])),
            start_date=parse_date(item.get(a["start_date"]), where=where, attribute=a["start_date"]),
            end_date=parse_date(item.get(a["end_date"]), where=where, attribute=a["end_date"]),
            updated_at=parse_timestamp(item.get(a["updated_at"]), where=where, attribute=a["updated_at"]),
            raw=dict(item),
            where=where,
        )

    def cost_code(self, item: Mapping, where: str) -> CostCodeRecord:
        a = self.attrs["cost_codes"]
        return CostCodeRecord(
            **self._required("cost_codes", item, where),
            parent_code=_parent(item.get(a["parent_code"])),
            active=parse_flag(item.get(a["active"]), where=where, attribute=a["active"]),
            where=where,
        )

    def cost_type(self, item: Mapping, where: str) -> CostTypeRecord:
        a = self.attrs["cost_types"]
        return CostTypeRecord(
            **self._required("cost_types", item, where),
            parent_code=_parent(item.get(a["parent_code"])),
            where=where,
        )

    def budget_line(self, item: Mapping, where: str) -> BudgetLineRecord:
        a = self.attrs["budget_lines"]

        def amount(name: str) -> Decimal:
            return parse_amount(item.get(a[name]), where=where, attribute=a[name])

        return BudgetLineRecord(
            **self._required("budget_lines", item, where),
            active=parse_flag(item.get(a["active"]), where=where, attribute=a["active"]),
            original_budget=amount("original_budget"),
            approved_changes=amount("approved_changes"),
            budget_units=amount("budget_units"),
            committed_cost=amount("committed_cost"),
            percent_complete=amount("percent_complete"),
            where=where,
        )

    def cost_transaction(self, item: Mapping, where: str) -> CostTransactionRecord:
        # Posted detail runs to hundreds of thousands of rows: read the attributes directly.
        a = self._tx_attributes
        values = [v.strip() if type(v) is str else _text(v) for v in map(item.get, a)]
        company_code, job_code, phase_code, category_code, number, posted_on, amount, units, source, reference = values
        if not all(values[:7]):
            self._required("cost_transactions", item, where)  # raises, naming the empty field
        try:  # the common case inline; the parse functions explain anything unusual
            posted = date.fromisoformat(posted_on)
            amount = Decimal(amount)
            units = Decimal(units) if units else ZERO
            if not (amount.is_finite() and units.is_finite()):
                raise ValueError
        except (ValueError, TypeError, InvalidOperation):
            posted = parse_date(posted_on, where=where, attribute=a[5])
            amount = parse_amount(amount, where=where, attribute=a[6])
            units = parse_amount(units, where=where, attribute=a[7])
        return CostTransactionRecord(
            company_code, job_code, phase_code, category_code, number, posted, amount, units, source, reference, where
        )
