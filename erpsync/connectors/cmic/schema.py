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
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from pydantic_core import core_schema as cs

from erpsync.connectors.base import ZERO
from erpsync.projects.amounts import MONEY, PERCENT, QUANTITY

TOP_LEVEL = "ALL"  # CMiC's controlling code for a control job or a top-level phase

# Every value is one line of text: control characters (C0 and C1, a tab or line break among them), line and
# paragraph separators, bidirectional overrides and non-characters are refused.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffe\uffff"
_NO_CONTROL = f"^[^{_CONTROLS}]*$"
_CONTROL = re.compile(f"[{_CONTROLS}]")
_GROUPED = re.compile(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")  # 1,234,567.89
_PLAIN_NUMBER = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,4})?\s*$"  # ASCII digits only
_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$"
_BLANK = r"^\s*$"
_FLAG = r"^\s*[YNyn]\s*$"

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
    """The rarer spellings of an amount: empty, or with thousands separators; anything else that is not a number is refused."""
    text = value.strip()
    if text == "":
        if required:
            raise PydanticCustomError("value_required", "a value is required")
        return "0"
    if _GROUPED.match(text):
        return text.replace(",", "")
    if re.match(_PLAIN_NUMBER, text):
        return text  # a plain number the constraints refused: they say why
    if "," in text:
        raise PydanticCustomError("not_number", "{value} is not a number (a comma may only separate thousands)",
                                  {"value": shown(text)})
    raise PydanticCustomError("not_number", "{value} is not a number", {"value": shown(text)})


def Amount(max_digits: int, decimal_places: int, *, required: bool = False, ge: int | None = None, le: int | None = None):
    """An exact decimal: a JSON number, or text; `1,234.50` is read, `1,5` refused; empty is 0 unless required.

    At most decimal_places after the point and max_digits in all (no rounding, ever); ge/le bound the value.
    """
    limit = Decimal(10) ** (max_digits - decimal_places)
    bounds = {"ge": ge, "le": le} if ge is not None or le is not None else {"gt": -limit, "lt": limit}
    number = cs.decimal_schema(decimal_places=decimal_places, allow_inf_nan=False, **bounds)
    choices = [
        cs.chain_schema([cs.str_schema(strict=True, pattern=_PLAIN_NUMBER), number]),  # CSV: text such as 1234.50
        cs.decimal_schema(strict=True, decimal_places=decimal_places, allow_inf_nan=False, **bounds),  # JSON numbers
        cs.chain_schema([cs.int_schema(strict=True), number]),
        cs.chain_schema([cs.float_schema(strict=True), cs.no_info_plain_validator_function(lambda f: Decimal(repr(f))), number]),
        cs.chain_schema([cs.str_schema(strict=True), cs.no_info_plain_validator_function(
            lambda text: _normalized_number(text, required)), number]),
    ]
    if not required:
        choices.append(cs.chain_schema([cs.none_schema(), _always(ZERO)]))
    return _type(cs.union_schema(choices, mode="left_to_right"), ZERO, needs_value=required)


Money = Amount(MONEY["max_digits"], MONEY["decimal_places"])
RequiredMoney = Amount(MONEY["max_digits"], MONEY["decimal_places"], required=True)
Quantity = Amount(QUANTITY["max_digits"], QUANTITY["decimal_places"])
Percent = Amount(PERCENT["max_digits"], PERCENT["decimal_places"], ge=0, le=100)

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
    cs.chain_schema([cs.str_schema(strict=True, pattern=_FLAG), cs.no_info_plain_validator_function(
        lambda text: text.strip().upper() == "Y")]),
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
_CONSTRAINTS = ("decimal_max_places", "decimal_max_digits", "decimal_whole_digits", "less_than", "greater_than",
                "less_than_equal", "greater_than_equal")


def problem_of(errors: list[dict]) -> str:
    """What is wrong with one attribute's value, in words, from pydantic's errors about it.

    A value that several spellings were tried against has an error for each; the most telling one is said:
    a broken constraint (too many decimals, too large), then our own words, then the rest.
    """
    error = (next((e for e in errors if e["type"] in _CONSTRAINTS), None) or next((e for e in errors if e["type"] in _OURS), None)
             or next((e for e in errors if e["type"] not in ("none_required", "string_type", "decimal_parsing", "decimal_type",
                                                               "int_type", "float_type", "string_pattern_mismatch")), None)
             or next((e for e in errors if e["type"] == "string_pattern_mismatch"), errors[0]))
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if value is None or (type(value) is str and not value.strip()):
        return "a value is required"
    kinds = {e["type"] for e in errors}
    if type(value) is not str and kinds <= {"string_type", "none_required", "is_instance_of", "decimal_type", "int_type",
                                            "float_type", "bool_type"}:
        wanted = "a number" if kinds & {"is_instance_of", "decimal_type", "int_type", "float_type"} else "text"
        return f"{shown(value)} is {kind_of(value)}, not {wanted}"
    if kind in ("string_type", "decimal_type", "bool_type", "int_type") or (
            kind in _OURS - {"value_required"} and type(value) is not str):
        wanted = {"not_number": "a number", "decimal_type": "a number", "int_type": "a number", "not_date": "a date",
                  "not_timestamp": "a date and time", "not_flag": "a Y/N flag"}.get(kind, "text")
        return f"{shown(value)} is {kind_of(value)}, not {wanted}"
    if kind in ("string_too_long", "too_long"):
        return f"{shown(value)} is {len(value)} characters long; at most {ctx['max_length']} fit"
    if kind == "string_unicode":
        return "the value holds a character that is not valid text"
    if kind == "string_pattern_mismatch":
        control = _CONTROL.search(value)
        if control:
            return (f"the value contains the invisible character U+{ord(control.group()):04X} at position {control.start() + 1}; "
                    "a value must be one line of visible text")
        return f"{shown(value)} is not a number"
    if kind == "decimal_max_places":
        return f"{shown(value)} has more than {ctx['decimal_places']} decimal places, which would be rounded"
    if kind in ("decimal_max_digits", "decimal_whole_digits", "less_than", "greater_than"):
        return f"{shown(value)} is too large to store exactly"
    if kind in ("less_than_equal", "greater_than_equal"):
        return f"{shown(value)} is not between 0 and 100" if "ge" in ctx or "le" in ctx else f"{shown(value)} is out of range"
    if kind in ("decimal_parsing", "finite_number"):
        return f"{shown(value)} is not a number"
    if kind == "not_date" or kind.startswith("date"):
        return f"{shown(value)} is not a date (expected YYYY-MM-DD)"
    if kind == "not_timestamp" or kind.startswith("datetime"):
        return f"{shown(value)} is not a date and time (expected YYYY-MM-DDThh:mm:ss)"
    if kind == "not_flag":
        return f"{shown(value)} is not a Y/N flag"
    return error["msg"]
