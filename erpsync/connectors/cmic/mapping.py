"""CMiC items → records, shared by the export-file and REST connectors.

Attribute names come from one mapping per resource. Names tagged [guess] in the CMiC reference
are not confirmed against a live tenant: a connection can override any of them in its
settings ("attributes": {"jobs": {"name": "JobTitle"}}) without a code change.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    # Attributes erpsync can do without (record field → what is lost without it). A connection maps
    # one to null when its tenant lacks it; every other attribute a tenant must have.
    optional: Mapping[str, str] = field(default_factory=dict)


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
        optional={"updated_at": "no audit date: every refresh reads every job"},
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
        optional={"updated_at": "no audit date: every refresh reads every phase"},
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
        optional={"updated_at": "no audit date: every refresh and job-cost sync reads every job category",
                  "approved_changes": "approved budget changes stay 0", "budget_units": "budget units stay 0",
                  "committed_cost": "committed costs stay 0", "percent_complete": "percent complete stays 0"},
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
        optional={"parent_code": "cost types have no control category"},
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
        optional={"updated_at": "no audit date: every job-cost sync reads every posted cost", "units": "posted units stay 0",
                  "source": "posted costs have no source code", "reference": "posted costs have no reference"},
    ),
}


def attributes_for(entity: str, overrides: Mapping[str, Mapping[str, str | None]] | None = None) -> dict[str, str | None]:
    """Record field → the tenant's attribute name; None for an optional attribute the tenant does not have."""
    resource = RESOURCES[entity]
    attrs = dict(resource.attributes)
    if resource.audit_attribute:
        attrs.setdefault("updated_at", resource.audit_attribute)
    attrs.update((overrides or {}).get(entity, {}))
    return attrs


def mapping_problems(overrides: Mapping) -> list[str]:
    """What is wrong with a connection's attribute mapping, in words (an empty list: nothing)."""
    problems = []
    for entity, fields in overrides.items():
        if entity not in RESOURCES:
            problems.append(f"{entity!r} is not a resource; use {', '.join(RESOURCES)}.")
            continue
        known = attributes_for(entity)
        for name, attribute in fields.items():
            if name not in known:
                problems.append(f"{entity}: {name!r} is not one of its fields ({', '.join(known)}).")
            elif attribute is None and name not in RESOURCES[entity].optional:
                problems.append(f"{entity}: {name} is required and cannot be null; only "
                                f"{', '.join(RESOURCES[entity].optional) or 'none'} may be.")
            elif attribute is not None and (not isinstance(attribute, str) or not attribute.strip()):
                problems.append(f"{entity}: {name} must be an attribute name or null.")
    return problems


def _text(value) -> str:
    if value is None:
        return ""
    return value.strip() if type(value) is str else str(value).strip()


_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")  # 1,234,567.89: commas only between groups of three


def parse_amount(value, *, where: str, attribute: str) -> Decimal:
    """An exact amount from a JSON number, a plain number, or one with thousands separators.

    Anything else (a decimal comma, a true/false, text) is refused, naming the place: guessing
    what "1,5" means would store a wrong amount.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal, type(None))):
        raise ConnectorError(f"{where}, field {attribute}: {value!r} is not a number.")
    if isinstance(value, float):
        value = repr(value)  # a float's shortest repr is the value the sender meant
    text = _text(value)
    if text == "":
        return ZERO
    if _GROUPED.match(text):
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ConnectorError(f"{where}, field {attribute}: {text!r} is not a number.") from None
    if not amount.is_finite():
        raise ConnectorError(f"{where}, field {attribute}: {text!r} is not a number.")
    return amount


def date_of(text: str) -> date:
    """CMiC sends "2025-02-19" or a full timestamp such as "2025-02-19T00:00:00-05:00"; ValueError otherwise."""
    return date.fromisoformat(text[:10]) if len(text) > 10 else date.fromisoformat(text)


def parse_date(value, *, where: str, attribute: str) -> date | None:
    text = _text(value)
    if text == "":
        return None
    try:
        return date_of(text)
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


_FLAGS = {"": True, "Y": True, "N": False}  # the common values; parse_flag explains anything else


def _values(item: Mapping, attributes: tuple[str, ...]) -> list[str]:
    """The item's text values for these attributes, stripped; "" where absent."""
    return [v.strip() if type(v) is str else _text(v) for v in map(item.get, attributes)]


def _amount(value, where: str, attribute: str) -> Decimal:
    # JSON numbers arrive as Decimal (parse_float=Decimal) or int; anything else is explained by parse_amount.
    kind = type(value)
    if kind is Decimal and value.is_finite():
        return value
    if kind is int:
        return Decimal(value)
    return parse_amount(value, where=where, attribute=attribute)


class CmicMapper:
    """Turns CMiC items into records through the (possibly overridden) attribute names.

    Refreshes map hundreds of thousands of items, so each method reads its attributes in one
    pass and handles the common values inline; the parse_* functions explain anything unusual.
    """

    def __init__(self, overrides: Mapping[str, Mapping[str, str]] | None = None):
        self.attrs = {entity: attributes_for(entity, overrides) for entity in RESOURCES}

        def attributes(entity: str, *names: str) -> tuple[str, ...]:
            return tuple(self.attrs[entity][n] for n in names)

        self._job_attributes = attributes("jobs", "company_code", "job_code", "name", "controlling_code", "status", "address",
                                          "city", "state", "zip", "start_date", "end_date", "updated_at")
        self._code_attributes = attributes("cost_codes", "company_code", "job_code", "code", "name", "parent_code", "active")
        self._type_attributes = attributes("cost_types", "company_code", "code", "name", "parent_code")
        self._line_text_attributes = attributes("budget_lines", "company_code", "job_code", "phase_code", "category_code", "active")
        self._line_amount_attributes = attributes("budget_lines", "original_budget", "approved_changes", "budget_units",
                                                  "committed_cost", "percent_complete")
        self._tx_attributes = attributes("cost_transactions", "company_code", "job_code", "phase_code", "category_code", "number",
                                         "posted_on", "amount", "units", "source", "reference")

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
        a = self._job_attributes
        company_code, job_code, name, controlling, status, address, city, state, zip_code, start, end, updated = _values(item, a)
        if not (company_code and job_code):
            self._required("jobs", item, where)  # raises, naming the empty field
        return JobRecord(
            company_code, job_code, name, "" if controlling.upper() == TOP_LEVEL else controlling, status, address, city, state,
            zip_code,
            parse_date(start, where=where, attribute=a[9]) if start else None,
            parse_date(end, where=where, attribute=a[10]) if end else None,
            parse_timestamp(updated, where=where, attribute=a[11]) if updated else None,
            dict(item),
            where,
        )

    def cost_code(self, item: Mapping, where: str) -> CostCodeRecord:
        company_code, job_code, code, name, parent, active = _values(item, self._code_attributes)
        if not (company_code and job_code and code and name):
            self._required("cost_codes", item, where)
        flag = _FLAGS.get(active)
        if flag is None:
            flag = parse_flag(active, where=where, attribute=self._code_attributes[5])
        return CostCodeRecord(company_code, job_code, code, name, "" if parent.upper() == TOP_LEVEL else parent, flag, where)

    def cost_type(self, item: Mapping, where: str) -> CostTypeRecord:
        company_code, code, name, parent = _values(item, self._type_attributes)
        if not (company_code and code and name):
            self._required("cost_types", item, where)
        return CostTypeRecord(company_code, code, name, "" if parent.upper() == TOP_LEVEL else parent, where)

    def budget_line(self, item: Mapping, where: str) -> BudgetLineRecord:
        company_code, job_code, phase_code, category_code, active = _values(item, self._line_text_attributes)
        if not (company_code and job_code and phase_code and category_code):
            self._required("budget_lines", item, where)
        flag = _FLAGS.get(active)
        if flag is None:
            flag = parse_flag(active, where=where, attribute=self._line_text_attributes[4])
        a = self._line_amount_attributes
        original, changes, units, committed, percent = (_amount(v, where, n) for v, n in zip(map(item.get, a), a))
        return BudgetLineRecord(company_code, job_code, phase_code, category_code, flag, original, changes, units, committed,
                                percent, where)

    def cost_transaction(self, item: Mapping, where: str) -> CostTransactionRecord:
        # Posted detail runs to hundreds of thousands of rows: read the attributes directly.
        a = self._tx_attributes
        values = _values(item, a)
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
