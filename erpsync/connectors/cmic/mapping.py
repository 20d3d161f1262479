"""CMiC items → records, shared by the export-file and REST connectors.

Each resource declares its attributes once: the record field, CMiC's attribute name, the
value's type (schema.py), and, for an attribute a tenant may lack, what its absence means.
That one declaration checks export files (CSV and JSON) and REST pages alike, through a
pydantic model built per connection, because a connection may override any attribute name in
its settings ("attributes": {"jobs": {"name": "JobTitle"}}): names tagged [guess] in the CMiC
reference are not confirmed against a live tenant.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, create_model

from erpsync.connectors.base import (
    BudgetLineRecord,
    ConnectorError,
    CostCodeRecord,
    CostTransactionRecord,
    CostTypeRecord,
    JobRecord,
)
from erpsync.connectors.cmic.schema import (
    Code,
    Flag,
    Money,
    OptionalDate,
    Parent,
    Percent,
    Quantity,
    RequiredDate,
    RequiredMoney,
    Text,
    Timestamp,
    default_of,
    problem_of,
    shown,
)


@dataclass(frozen=True)
class Attribute:
    name: str  # CMiC's attribute name; a connection may map the field to another
    type: Any  # its value's type (schema.py)
    absent: str | None = None  # None: every item must have it; else what it means when a tenant lacks it


@dataclass(frozen=True)
class Resource:
    name: str  # CMiC's resource name, also the export file's stem
    path: str  # default container/version/resource under the environment
    fields: Mapping[str, Attribute]  # record field → attribute
    audit_attribute: str = ""  # the update date used for incremental pulls [guess]

    @property
    def attributes(self) -> dict[str, str]:
        """Record field → CMiC's attribute name."""
        return {f: a.name for f, a in self.fields.items()}

    @property
    def optional(self) -> dict[str, str]:
        """Record field → what is lost when a tenant does not have the attribute."""
        return {f: a.absent for f, a in self.fields.items() if a.absent is not None}


def _updated(attribute: str, lost: str) -> Attribute:
    return Attribute(attribute, Timestamp, f"no audit date: {lost}")


# Lengths: what erpsync stores. A job code, job name, cost code or cost type longer than the
# registry's project or cost-code fields is staged and blocked with a reason (erp/rules.py);
# anything longer than erpsync stores is refused here.
RESOURCES: dict[str, Resource] = {
    "jobs": Resource(
        name="jcjob",
        path="jc-rest-api/rest/1/jcjob",
        fields={
            "company_code": Attribute("JobCompCode", Code(20)),  # [guess]
            "job_code": Attribute("JobCode", Code(60)),
            "name": Attribute("JobName", Text(255)),  # a nameless job is staged, and blocked with a reason
            "controlling_code": Attribute("JobCtrlCode", Parent(60)),  # [guess]
            "status": Attribute("JobStatusCode", Text(30)),  # [guess]
            "address": Attribute("JobAddress1", Text(200)),  # [guess]
            "city": Attribute("JobCity", Text(80)),  # [guess]
            "state": Attribute("JobState", Text(40)),  # [guess]
            "zip": Attribute("JobZip", Text(20)),  # [guess]
            "start_date": Attribute("JobStartDate", OptionalDate),  # [guess]
            "end_date": Attribute("JobEndDate", OptionalDate),  # [guess]
            "updated_at": _updated("JobIuUpdateDate", "every refresh reads every job"),  # [guess]
        },
        audit_attribute="JobIuUpdateDate",
    ),
    "cost_codes": Resource(
        name="jcjobcostcodes",
        path="jc-rest-api/rest/1/jcjobcostcodes",
        fields={
            "company_code": Attribute("GjjpCompCode", Code(20)),
            "job_code": Attribute("GjjpJobCode", Code(60)),
            "code": Attribute("GjjpCode", Code(60)),
            "name": Attribute("GjjpName", Code(255)),
            "parent_code": Attribute("GjjpCtrlCode", Parent(60)),
            "active": Attribute("GjjpActiveFlag", Flag),
            "updated_at": _updated("GjjpIuUpdateDate", "every refresh reads every phase"),
        },
        audit_attribute="GjjpIuUpdateDate",
    ),
    "budget_lines": Resource(
        name="jcjobcategory",
        path="jc-rest-api/rest/1/jcjobcategory",
        fields={
            "company_code": Attribute("JcatCompCode", Code(20)),
            "job_code": Attribute("JcatJobCode", Code(60)),
            "phase_code": Attribute("JcatPhsCode", Code(60)),
            "category_code": Attribute("JcatCode", Code(30)),
            "active": Attribute("JcatCatActiveFlag", Flag),
            "original_budget": Attribute("JcatOrigBudgetAmt", Money),  # [guess]
            "approved_changes": Attribute("JcatBudgetChgAmt", Money, "approved budget changes stay 0"),  # [guess]
            "budget_units": Attribute("JcatBudgetUnits", Quantity, "budget units stay 0"),  # [guess]
            "committed_cost": Attribute("JcatCommittedAmt", Money, "committed costs stay 0"),  # [guess]
            "percent_complete": Attribute("JcatPctComplete", Percent, "percent complete stays 0"),  # [guess]
            "updated_at": _updated("JcatIuUpdateDate", "every refresh and job-cost sync reads every job category"),
        },
        audit_attribute="JcatIuUpdateDate",
    ),
    "cost_types": Resource(
        name="jcmastercategories",
        path="jc-rest-api/rest/1/jcmastercategories",
        fields={
            "company_code": Attribute("CatCompCode", Code(20)),  # [guess]
            "code": Attribute("CatCode", Code(30)),  # [guess]
            "name": Attribute("CatName", Code(255)),  # [guess]
            "parent_code": Attribute("CatCtrlCode", Parent(30), "cost types have no control category"),  # [guess]
        },
    ),
    "cost_transactions": Resource(
        name="jcdetailposted",
        path="jc-rest-api/rest/1/jcdetailposted",
        fields={
            "company_code": Attribute("JcdtCompCode", Code(20)),  # [guess]
            "job_code": Attribute("JcdtJobCode", Code(60)),  # [guess]
            "phase_code": Attribute("JcdtPhsCode", Code(60)),  # [guess]
            "category_code": Attribute("JcdtCatCode", Code(30)),  # [guess]
            "number": Attribute("JcdtTrnNum", Code(80)),  # [guess]
            "posted_on": Attribute("JcdtPostDate", RequiredDate),  # [guess]
            "amount": Attribute("JcdtAmt", RequiredMoney),  # [guess]
            "units": Attribute("JcdtUnits", Quantity, "posted units stay 0"),  # [guess]
            "source": Attribute("JcdtSrcCode", Text(20), "posted costs have no source code"),  # [guess]
            "reference": Attribute("JcdtRef", Text(80), "posted costs have no reference"),  # [guess]
            "updated_at": _updated("JcdtIuUpdateDate", "every job-cost sync reads every posted cost"),  # [guess]
        },
        audit_attribute="JcdtIuUpdateDate",
    ),
}

RECORDS = {"jobs": JobRecord, "cost_codes": CostCodeRecord, "cost_types": CostTypeRecord, "budget_lines": BudgetLineRecord,
           "cost_transactions": CostTransactionRecord}


def attributes_for(entity: str, overrides: Mapping[str, Mapping[str, str | None]] | None = None) -> dict[str, str | None]:
    """Record field → the tenant's attribute name; None for an optional attribute the tenant does not have."""
    attrs: dict[str, str | None] = dict(RESOURCES[entity].attributes)
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
        optional = RESOURCES[entity].optional
        for name, attribute in fields.items():
            if name not in known:
                problems.append(f"{entity}: {name!r} is not one of its fields ({', '.join(known)}).")
            elif attribute is None and name not in optional:
                problems.append(f"{entity}: {name} is required and cannot be null; only "
                                f"{', '.join(optional) or 'none'} may be.")
            elif attribute is not None and (not isinstance(attribute, str) or not attribute.strip() or len(attribute) > 100
                                            or not attribute.isprintable()):
                problems.append(f"{entity}: {name} must be an attribute name (up to 100 printable characters) or null.")
    return problems


class CmicMapper:
    """Turns CMiC items into records through the (possibly overridden) attribute names.

    One pydantic model per resource reads an item: an attribute every item must have is
    required; an optional one the item lacks (or the connection maps to null) takes its
    documented meaning. Anything else is refused, naming the place, the attribute and the value.
    """

    def __init__(self, overrides: Mapping[str, Mapping[str, str | None]] | None = None):
        self.attrs = {entity: attributes_for(entity, overrides) for entity in RESOURCES}
        self._models = {}
        self._defaults = {}
        for entity, resource in RESOURCES.items():
            record_fields = RECORDS[entity].__dataclass_fields__
            definitions, defaults = {}, {}
            for name, attribute in resource.fields.items():
                if name not in record_fields:
                    continue  # read only to filter by (an audit date)
                alias = self.attrs[entity][name]
                if alias is None:  # the tenant has no such attribute
                    defaults[name] = default_of(attribute.type)
                elif attribute.absent is None:
                    definitions[name] = (attribute.type, Field(alias=alias))
                else:
                    definitions[name] = (attribute.type, Field(default_of(attribute.type), alias=alias))
            self._models[entity] = create_model(f"{resource.name}_item", __config__=_CONFIG, **definitions)
            self._defaults[entity] = defaults

    def required_attributes(self, entity: str) -> list[str]:
        """The attributes every item (every CSV header) must have."""
        return [self.attrs[entity][f] for f, a in RESOURCES[entity].fields.items() if a.absent is None]

    def _read(self, entity: str, item: Mapping, where: str) -> dict:
        try:
            values = self._models[entity].model_validate(item).__dict__
        except ValidationError as exc:
            raise ConnectorError(_refusal(exc, where)) from None
        defaults = self._defaults[entity]
        return {**values, **defaults} if defaults else values

    def job(self, item: Mapping, where: str) -> JobRecord:
        for attribute, value in item.items():  # every attribute is kept (raw), so none may hold a NUL byte
            if type(value) is str and "\x00" in value:
                raise ConnectorError(f"{where}, field {attribute}: the value contains a NUL byte.")
        return JobRecord(**self._read("jobs", item, where), raw=dict(item), where=where)

    def cost_code(self, item: Mapping, where: str) -> CostCodeRecord:
        return CostCodeRecord(**self._read("cost_codes", item, where), where=where)

    def cost_type(self, item: Mapping, where: str) -> CostTypeRecord:
        return CostTypeRecord(**self._read("cost_types", item, where), where=where)

    def budget_line(self, item: Mapping, where: str) -> BudgetLineRecord:
        return BudgetLineRecord(**self._read("budget_lines", item, where), where=where)

    def cost_transaction(self, item: Mapping, where: str) -> CostTransactionRecord:
        return CostTransactionRecord(**self._read("cost_transactions", item, where), where=where)


_CONFIG = ConfigDict(extra="ignore", populate_by_name=False, hide_input_in_errors=False)


def _refusal(exc: ValidationError, where: str) -> str:
    """The first thing wrong with an item, naming the place and the attribute; how many more there are."""
    by_attribute: dict = {}
    for error in exc.errors(include_url=False):
        by_attribute.setdefault(error["loc"][0] if error["loc"] else "", []).append(error)
    attribute, errors = next(iter(by_attribute.items()))
    if errors[0]["type"] == "missing":
        message = f"{where}, field {attribute}: the item has no such attribute."
    elif errors[0]["type"] == "model_type":
        message = f"{where} is {shown(errors[0].get('input'))}, not an object."
    else:
        message = f"{where}, field {attribute}: {problem_of(errors)}."
    if len(by_attribute) > 1:
        message += f" ({len(by_attribute) - 1} more field{'s' if len(by_attribute) > 2 else ''} of the same item also refused.)"
    return message
