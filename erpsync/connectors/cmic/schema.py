"""The declared shape of CMiC's values: one type per kind of attribute, validated by pydantic.

Every CMiC resource (mapping.RESOURCES) lists its attributes with one of these types. The same
types read export files (CSV, where every value is text) and REST pages (JSON), so both are
held to one reading:

- Text is text: a number, list or object where text belongs is refused, never turned into a
  string. Surrounding spaces are dropped; control characters (a NUL byte above all) are refused;
  a value longer than erpsync stores is refused, never cut.
- A code must have a value; other text may be empty.
- Amounts are exact decimals, from a JSON number or from text such as `1234.50` or `1,234.50`
  (commas between groups of three only). `true`, `1,5`, `NaN` and fractions finer than the
  registry keeps are refused. An empty amount is 0, except where an amount is required.
- Dates are text `YYYY-MM-DD`, or a timestamp whose date part is used; never a number.
- Flags are `Y` or `N` (also yes/no, true/false, 1/0 as text, or JSON true/false); empty means Y.

A refusal names the attribute and what is wrong with the value (`problem_of`); the caller adds
the file and row, or the resource, offset and item.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from pydantic_core import core_schema as cs

from erpsync.connectors.base import ZERO
from erpsync.projects.amounts import MONEY, PERCENT, QUANTITY

TOP_LEVEL = "ALL"  # CMiC's controlling code for a control job or a top-level phase

_NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # tab, line feed and carriage return are text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")  # 1,234,567.89
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
_BLANK = r"^\s*$"
_FLAG = r"^(?i:y|n|yes|no|true|false|1|0)$"

# Most values are checked by pydantic-core itself (no Python call per value): refreshes read
# hundreds of thousands of items. Python runs only for the rarer spellings (an empty amount,
# thousands separators, CMiC's "ALL").


@dataclass(frozen=True, eq=False)  # hashed by identity, as Annotated metadata must be
class _Core:
    """An Annotated marker that gives a type its pydantic-core schema."""

    schema: cs.CoreSchema

    def __get_pydantic_core_schema__(self, source, handler):
        return self.schema


def _type(schema: cs.CoreSchema, default: Any = None, *, needs_value: bool = False):
    kind = Annotated[Any, _Core(schema)]
    DEFAULTS[kind] = default
    if needs_value:
        NEEDS_VALUE.add(kind)
    return kind


DEFAULTS: dict[Any, Any] = {}  # type → what an optional attribute a tenant lacks stands for
NEEDS_VALUE: set = set()  # types that refuse an empty value


def _text(max_length: int, min_length: int = 0) -> cs.CoreSchema:
    return cs.str_schema(strict=True, strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=_NO_CONTROL)


def _always(value: Any):
    return cs.no_info_plain_validator_function(lambda _: value)


def _null_is(value: Any, schema: cs.CoreSchema) -> cs.CoreSchema:
    return cs.union_schema([schema, cs.chain_schema([cs.none_schema(), _always(value)])], mode="left_to_right")


def Text(max_length: int):
    """Text of at most max_length characters; may be empty (null is empty)."""
    return _type(_null_is("", _text(max_length)), "")


def Code(max_length: int):
    """A code: text that must have a value."""
    return _type(_text(max_length, min_length=1), "", needs_value=True)


def _top_level(value: str) -> str:
    return "" if value.upper() == TOP_LEVEL else value


def Parent(max_length: int):
    """A controlling code: empty, null or CMiC's "ALL" at the top level."""
    return _type(_null_is("", cs.no_info_after_validator_function(_top_level, _text(max_length))), "")


def _normalized_number(value: str, required: bool) -> str:
    text = value.strip()
    if text == "":
        if required:
            raise PydanticCustomError("value_required", "a value is required")
        return "0"
    if _GROUPED.match(text):
        return text.replace(",", "")
    if "," in text:
        raise PydanticCustomError("not_number", "{value} is not a number (a comma may only separate thousands)",
                                  {"value": shown(text)})
    return text


def Amount(max_digits: int, decimal_places: int, *, required: bool = False):
    """An exact decimal: a JSON number, or text; `1,234.50` is read, `1,5` refused; empty is 0 unless required."""
    number = cs.decimal_schema(max_digits=max_digits, decimal_places=decimal_places, allow_inf_nan=False)
    spelled = cs.chain_schema([
        cs.str_schema(strict=True),
        cs.no_info_plain_validator_function(lambda text: _normalized_number(text, required)),
        number,
    ])
    choices = [number, spelled] if required else [number, spelled, cs.chain_schema([cs.none_schema(), _always(ZERO)])]
    return _type(cs.union_schema(choices, mode="left_to_right"), ZERO, needs_value=required)


Money = Amount(MONEY["max_digits"], MONEY["decimal_places"])
RequiredMoney = Amount(MONEY["max_digits"], MONEY["decimal_places"], required=True)
Quantity = Amount(QUANTITY["max_digits"], QUANTITY["decimal_places"])
Percent = Amount(PERCENT["max_digits"], PERCENT["decimal_places"])

RequiredDate = _type(cs.custom_error_schema(
    cs.chain_schema([cs.str_schema(strict=True, strip_whitespace=True, pattern=_ISO_DATE), cs.date_schema()]),
    "not_date", custom_error_message="not a date"), needs_value=True)


def _optional(schema_type):
    """Jobs' dates: text as the type reads it, or empty/null for none."""
    def blank_is_none(value: Any) -> Any:
        return None if value is None or (type(value) is str and not value.strip()) else value
    return Annotated[schema_type | None, BeforeValidator(blank_is_none)]


OptionalDate = _optional(RequiredDate)
DEFAULTS[OptionalDate] = None
Timestamp = _optional(_type(cs.custom_error_schema(
    cs.chain_schema([cs.str_schema(strict=True, strip_whitespace=True, pattern=_ISO_DATE), cs.datetime_schema()]),
    "not_timestamp", custom_error_message="not a date and time")))
DEFAULTS[Timestamp] = None

Flag = _type(cs.custom_error_schema(cs.union_schema([
    cs.bool_schema(strict=True),
    cs.chain_schema([cs.str_schema(strict=True, strip_whitespace=True, pattern=_FLAG), cs.bool_schema()]),
    cs.chain_schema([cs.str_schema(strict=True, pattern=_BLANK), _always(True)]),
    cs.chain_schema([cs.none_schema(), _always(True)]),
], mode="left_to_right"), "not_flag", custom_error_message="not a Y/N flag"), True)


def default_of(kind) -> Any:
    """What an optional attribute that a tenant does not have stands for: empty text, 0, no date, Y."""
    return DEFAULTS[kind]


def kind_of(value: Any) -> str:
    """How a JSON value is named in a message."""
    return {bool: "true/false", int: "a number", float: "a number", Decimal: "a number", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def shown(value: Any, limit: int = 40) -> str:
    """A value as a message quotes it: short, and with invisible characters visible."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


_OURS = {"value_required", "not_number", "not_date", "not_timestamp", "not_flag"}


def problem_of(errors: list[dict]) -> str:
    """What is wrong with one attribute's value, in words, from pydantic's errors about it.

    A value that several spellings were tried against has an error for each; the most telling one is said.
    """
    error = next((e for e in errors if e["type"] in _OURS), None) or next(
        (e for e in errors if e["type"] not in ("none_required", "string_type", "decimal_parsing")), errors[0])
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if value is None or (type(value) is str and not value.strip()):
        return "a value is required"
    if kind in ("string_type", "decimal_type", "bool_type") or (kind in _OURS - {"value_required"} and type(value) is not str):
        wanted = {"string_type": "text", "decimal_type": "a number", "not_number": "a number", "not_date": "a date",
                  "not_timestamp": "a date and time", "not_flag": "a Y/N flag"}.get(kind, "text")
        return f"{shown(value)} is {kind_of(value)}, not {wanted}"
    if kind in ("string_too_long", "too_long"):
        return f"{shown(value)} is {len(value)} characters long; at most {ctx['max_length']} fit"
    if kind == "string_pattern_mismatch":
        control = _CONTROL.search(value)
        if control:
            return f"the value contains the control character U+{ord(control.group()):04X} at position {control.start() + 1}"
    if kind == "decimal_max_places":
        return f"{shown(value)} has more than {ctx['decimal_places']} decimal places, which would be rounded"
    if kind in ("decimal_max_digits", "decimal_whole_digits"):
        return f"{shown(value)} is too large to store exactly"
    if kind in ("decimal_parsing", "finite_number"):
        return f"{shown(value)} is not a number"
    if kind == "not_date" or kind.startswith("date"):
        return f"{shown(value)} is not a date (expected YYYY-MM-DD)"
    if kind == "not_timestamp" or kind.startswith("datetime"):
        return f"{shown(value)} is not a date and time (expected YYYY-MM-DDThh:mm:ss)"
    if kind == "not_flag":
        return f"{shown(value)} is not a Y/N flag"
    return error["msg"]
