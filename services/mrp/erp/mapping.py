"""What each mapping file must return, and turning the rows it returns into our values.

A mapping is one SQL file per entity (`items.sql`, `boms.sql`, ...) whose SELECT names its
columns with our names (`SELECT ITEM_NO AS sku, ...`): the plant's IT person writes SQL, the
only language every ERP's database speaks, and this module checks what came back. No I/O here:
`odbc.py` runs the queries and hands over the column names and rows; this module says which
column is missing (before anything is applied) and which row holds a value we cannot take.

Values are converted, never guessed: quantities and money become `Decimal` through their text
(an ODBC driver may hand a NUMERIC over as a float: 0.1 stays 0.1, not 0.1000000000000000055),
with at most four decimal places (our NUMERIC(18, 4); round in the SQL if the ERP keeps more);
strings are trimmed (CHAR columns come padded) and an empty one is no value; dates may come as
dates, timestamps or ISO text; flags as booleans, 0/1 or Y/N.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from shared.i18n import Text, _

MAX_DECIMAL_PLACES = 4
# NUMERIC(18, 4) holds values below 10**14.
MAX_MAGNITUDE = Decimal(10) ** 14
# How many bad rows one import lists before it stops looking (the first ones say enough).
MAX_ROW_PROBLEMS = 50


class Kind(StrEnum):
    """How a column's values are read."""

    TEXT = "text"
    CODE = "code"  # text, lower-cased and one of `choices`
    QUANTITY = "quantity"  # a decimal above zero
    AMOUNT = "amount"  # a decimal, zero or more
    PERCENT = "percent"  # a decimal from 0 up to (not including) 100
    INTEGER = "integer"
    DATE = "date"
    FLAG = "flag"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    doc: str = ""


# No document has more lines; a larger number is a mistake (and would not fit the services'
# integer columns).
LINE_NO_MAX = 99_999


@dataclass(frozen=True)
class Entity:
    """One mapping file: its name, the columns it returns, and the columns that identify a row
    (two rows with the same key are a mistake in the mapping)."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    doc: str

    @property
    def file_name(self) -> str:
        return f"{self.name}.sql"

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)

    def column(self, name: str) -> Column | None:
        return next((column for column in self.columns if column.name == name), None)


ITEMS = Entity(
    "items",
    (
        Column("sku", Kind.TEXT, required=True, doc="the item's code"),
        Column("name", Kind.TEXT, required=True),
        Column("uom", Kind.TEXT, doc="unit of measure; 'ea' for a new item without one"),
        Column(
            "item_type",
            Kind.CODE,
            choices=("raw", "component", "finished", "packaging"),
            doc="raw, component, finished or packaging (raw when left out)",
        ),
        Column("make_or_buy", Kind.CODE, choices=("make", "buy"), doc="make or buy"),
        Column("customer_supplied", Kind.FLAG, doc="the customer supplies it"),
        Column("family", Kind.TEXT, doc="product family (line capacities per family)"),
        Column("reorder_point", Kind.AMOUNT),
        Column("reorder_qty", Kind.AMOUNT),
        Column("requires_qc", Kind.FLAG, doc="received into the QC hold"),
        Column(
            "standard_cost",
            Kind.AMOUNT,
            doc="unit cost of its opening stock when stock.sql gives none (not kept on the item)",
        ),
    ),
    key=("sku",),
    doc="one row per item",
)

BOMS = Entity(
    "boms",
    (
        Column("parent_sku", Kind.TEXT, required=True, doc="the product made"),
        Column("component_sku", Kind.TEXT, required=True),
        Column("qty_per", Kind.QUANTITY, required=True, doc="per output_qty of the product"),
        Column("scrap_pct", Kind.PERCENT, doc="percent lost in making (0 when left out)"),
        Column(
            "line_no",
            Kind.INTEGER,
            minimum=1,
            maximum=LINE_NO_MAX,
            doc="the line's order in the BOM",
        ),
        Column("uom", Kind.TEXT, doc="the component's unit when left out"),
        Column("output_qty", Kind.QUANTITY, doc="units of the product the lines make (1)"),
    ),
    key=("parent_sku", "line_no"),
    doc="one row per BOM line of the current BOM of each product",
)

CUSTOMERS = Entity(
    "customers",
    (
        Column("code", Kind.TEXT, required=True),
        Column("name", Kind.TEXT, required=True),
        Column("priority", Kind.INTEGER, minimum=1, maximum=5, doc="1 (most important) to 5"),
    ),
    key=("code",),
    doc="one row per customer",
)

SALES_ORDERS = Entity(
    "sales_orders",
    (
        Column("so_ref", Kind.TEXT, required=True, doc="the ERP's order number (external_ref)"),
        Column("customer_code", Kind.TEXT, required=True),
        Column("line_no", Kind.INTEGER, required=True, minimum=1, maximum=LINE_NO_MAX),
        Column("sku", Kind.TEXT, required=True),
        Column("qty_ordered", Kind.QUANTITY, required=True, doc="still to ship"),
        Column("unit_price", Kind.AMOUNT, required=True),
        Column("due_date", Kind.DATE, doc="due-to-ship date"),
        Column("business_unit", Kind.TEXT),
        Column("order_date", Kind.DATE, doc="the same on every line of an order"),
        Column("contractual_penalty", Kind.FLAG, doc="the same on every line of an order"),
        Column("notes", Kind.TEXT, doc="the same on every line of an order"),
    ),
    key=("so_ref", "line_no"),
    doc="one row per line of each open sales order",
)

PURCHASE_ORDERS = Entity(
    "purchase_orders",
    (
        Column("po_ref", Kind.TEXT, required=True, doc="the ERP's order number (external_ref)"),
        Column("vendor_code", Kind.TEXT, required=True),
        Column("line_no", Kind.INTEGER, required=True, minimum=1, maximum=LINE_NO_MAX),
        Column("sku", Kind.TEXT, required=True),
        Column("qty_ordered", Kind.QUANTITY, required=True, doc="still to receive"),
        Column("unit_cost", Kind.AMOUNT, required=True),
        Column("due_date", Kind.DATE),
        Column("vendor_name", Kind.TEXT, doc="names a vendor created by the import"),
        Column("order_date", Kind.DATE, doc="the same on every line of an order"),
        Column("notes", Kind.TEXT, doc="the same on every line of an order"),
    ),
    key=("po_ref", "line_no"),
    doc="one row per line of each open purchase order",
)

STOCK = Entity(
    "stock",
    (
        Column("sku", Kind.TEXT, required=True),
        Column("qty_on_hand", Kind.AMOUNT, required=True),
        Column("location", Kind.TEXT, doc="FG for finished items, RAW for others when left out"),
        Column("unit_cost", Kind.AMOUNT, doc="what one unit is worth: values opening stock"),
    ),
    key=("sku", "location"),
    doc="one row per item (and location) with stock on hand",
)

# In the order they are applied: what a later one refers to exists by then.
ENTITIES: tuple[Entity, ...] = (ITEMS, BOMS, CUSTOMERS, SALES_ORDERS, PURCHASE_ORDERS, STOCK)
ENTITY_NAMES = tuple(entity.name for entity in ENTITIES)


class MappingProblem(Exception):
    """A mapping that cannot be used as written: nothing is applied."""

    def __init__(self, message: Text) -> None:
        super().__init__(str(message))
        self.message = message


class MissingColumn(MappingProblem):
    def __init__(self, file: str, column: str, returned: Sequence[str]) -> None:
        super().__init__(
            _(
                "{file}: the query returns no column '{column}' (it returns: {returned}); "
                "name it with AS {column}",
                file=file,
                column=column,
                returned=", ".join(returned) or "-",
            )
        )
        self.file, self.column, self.returned = file, column, tuple(returned)


@dataclass(frozen=True)
class RowProblem:
    """One value of one row that cannot be taken: where it is, and why."""

    file: str
    row: int  # 1 is the first row the query returned
    column: str
    reason: Text

    def __str__(self) -> str:
        return str(
            _(
                "{file}, row {row}, column {column}: {reason}",
                file=self.file,
                row=self.row,
                column=self.column,
                reason=self.reason,
            )
        )


class BadRows(Exception):
    """Rows that cannot be taken (the first MAX_ROW_PROBLEMS of them): nothing is applied."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class ErpRow:
    """A row as our values: only the columns the mapping returned (a column it leaves out is
    left as it is in the portal), None where the ERP has no value."""

    file: str
    number: int
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values.get(name)

    def has(self, name: str) -> bool:
        return name in self.values


@dataclass(frozen=True)
class ErpTable:
    """What one mapping file returned: its rows, and columns of ours it did not return."""

    entity: Entity
    file: str
    rows: tuple[ErpRow, ...]
    ignored_columns: tuple[str, ...] = ()


def check_columns(entity: Entity, file: str, returned: Sequence[str]) -> tuple[str, ...]:
    """Our column names in the order returned (lower-cased: unquoted aliases come back in the
    database's own case); raises `MissingColumn` for the first required one absent."""
    names = tuple(name.strip().lower() for name in returned)
    for required in entity.required:
        if required not in names:
            raise MissingColumn(file, required, names)
    return names


def read_table(
    entity: Entity, file: str, returned: Sequence[str], rows: Sequence[Sequence[Any]]
) -> ErpTable:
    """Check the columns, convert every row, and refuse duplicate keys: an `ErpTable`, or
    `MissingColumn` / `BadRows` naming the file, the row and the column."""
    names = check_columns(entity, file, returned)
    ours = [(index, entity.column(name)) for index, name in enumerate(names)]
    problems: list[RowProblem] = []
    converted: list[ErpRow] = []
    for number, raw in enumerate(rows, start=1):
        values: dict[str, Any] = {}
        for index, column in ours:
            if column is None:
                continue
            try:
                values[column.name] = convert(column, raw[index])
            except BadValue as exc:
                problems.append(RowProblem(file, number, column.name, exc.reason))
        converted.append(ErpRow(file, number, values))
        if len(problems) >= MAX_ROW_PROBLEMS:
            break
    problems.extend(_duplicate_keys(entity, file, converted))
    if problems:
        raise BadRows(problems[:MAX_ROW_PROBLEMS])
    ignored = tuple(name for index, name in enumerate(names) if ours[index][1] is None)
    return ErpTable(entity, file, tuple(converted), ignored)


def _duplicate_keys(entity: Entity, file: str, rows: Sequence[ErpRow]) -> list[RowProblem]:
    seen: dict[tuple[Any, ...], int] = {}
    problems: list[RowProblem] = []
    for row in rows:
        key = tuple(row[name] for name in entity.key)
        if entity is BOMS and key[1] is None:
            continue  # BOM lines without line numbers are told apart by their position
        if key in seen:
            problems.append(
                RowProblem(
                    file,
                    row.number,
                    entity.key[-1] if key[-1] is not None else entity.key[0],
                    _(
                        "{key} is also on row {first}",
                        key=" / ".join("-" if part is None else str(part) for part in key),
                        first=seen[key],
                    ),
                )
            )
        else:
            seen[key] = row.number
    return problems


# --- values ------------------------------------------------------------------------------------


class BadValue(ValueError):
    """A value that is not what its column holds; `reason` says what is wrong with it."""

    def __init__(self, reason: Text) -> None:
        super().__init__(str(reason))
        self.reason = reason


def convert(column: Column, value: Any) -> Any:
    """One value of `column` as ours; None when the ERP has none; `BadValue` saying what is
    wrong otherwise (an empty required column among them)."""
    if isinstance(value, str | bytes):
        value = _text(value)
    if value is None:
        if column.required:
            raise BadValue(_("is empty"))
        return None
    reader = _READERS[column.kind]
    result = reader(column, value)
    return result


def _text(value: str | bytes) -> str | None:
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadValue(_("is not text in UTF-8")) from exc
    stripped = value.strip()
    return stripped or None


def _read_text(column: Column, value: Any) -> str:
    if isinstance(value, bool):
        raise BadValue(_("'{value}' is not text", value=value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        number = _decimal(value)
        if number == number.to_integral_value():
            return str(int(number))
        return str(number)
    if isinstance(value, str):
        return value
    raise BadValue(_("'{value}' is not text", value=value))


def _read_code(column: Column, value: Any) -> str:
    code = _read_text(column, value).lower()
    if code not in column.choices:
        raise BadValue(
            _(
                "'{value}' is not one of {choices}",
                value=value,
                choices=", ".join(column.choices),
            )
        )
    return code


def _decimal(value: Any) -> Decimal:
    """A number through its text: floats as their shortest repr, so 0.1 stays 0.1."""
    if isinstance(value, bool):
        raise BadValue(_("'{value}' is not a number", value=value))
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise BadValue(_("'{value}' is not a number", value=value)) from exc
    else:
        raise BadValue(_("'{value}' is not a number", value=value))
    if not number.is_finite():
        raise BadValue(_("'{value}' is not a number", value=value))
    return number


def _read_decimal(column: Column, value: Any) -> Decimal:
    number = _decimal(value)
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
        raise BadValue(
            _(
                "{value} has more than {places} decimal places (round it in the SQL)",
                value=number,
                places=MAX_DECIMAL_PLACES,
            )
        )
    if abs(number) >= MAX_MAGNITUDE:
        raise BadValue(_("{value} is too large", value=number))
    if column.kind is Kind.QUANTITY and number <= 0:
        raise BadValue(_("{value} is not more than zero", value=number))
    if column.kind in (Kind.AMOUNT, Kind.PERCENT) and number < 0:
        raise BadValue(_("{value} is less than zero", value=number))
    if column.kind is Kind.PERCENT and number >= 100:
        raise BadValue(_("{value} is not below 100 percent", value=number))
    # One form for every figure, whatever the driver gave: 1.5, 1.50 and 1.5000 are one value.
    return number.quantize(Decimal(1).scaleb(-MAX_DECIMAL_PLACES))


def _read_integer(column: Column, value: Any) -> int:
    number = _decimal(value)
    if number != number.to_integral_value():
        raise BadValue(_("{value} is not a whole number", value=number))
    whole = int(number)
    if column.minimum is not None and whole < column.minimum:
        raise BadValue(_("{value} is less than {minimum}", value=whole, minimum=column.minimum))
    if column.maximum is not None and whole > column.maximum:
        raise BadValue(_("{value} is more than {maximum}", value=whole, maximum=column.maximum))
    return whole


def _read_date(column: Column, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        # A date or a whole timestamp; text after the date that is no time ('2026-12-15 tbc')
        # is a bad value, not a date.
        try:
            return datetime.fromisoformat(value).date()
        except ValueError:
            pass
    raise BadValue(_("'{value}' is not a date (YYYY-MM-DD)", value=value))


TRUE_WORDS = frozenset({"1", "y", "yes", "t", "true", "s", "si", "sí"})
FALSE_WORDS = frozenset({"0", "n", "no", "f", "false"})


def _read_flag(column: Column, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise BadValue(_("'{value}' is not yes or no (Y/N, 1/0, true/false)", value=value))


_READERS: dict[Kind, Callable[[Column, Any], Any]] = {
    Kind.TEXT: _read_text,
    Kind.CODE: _read_code,
    Kind.QUANTITY: _read_decimal,
    Kind.AMOUNT: _read_decimal,
    Kind.PERCENT: _read_decimal,
    Kind.INTEGER: _read_integer,
    Kind.DATE: _read_date,
    Kind.FLAG: _read_flag,
}


# --- files ---------------------------------------------------------------------------------


SHIPPED_MAPPINGS = Path(__file__).resolve().parent / "mappings"


@dataclass(frozen=True)
class MappingFile:
    entity: Entity
    path: Path
    sql: str


def mapping_files(folder: Path) -> tuple[list[MappingFile], list[str]]:
    """The mapping files found in `folder`, in the order they are applied, and the names of
    those absent (their entity is not imported). A folder that does not exist, or holds none
    of them, is a `MappingProblem`."""
    if not folder.is_dir():
        raise MappingProblem(_("The mapping folder {folder} does not exist.", folder=folder))
    found: list[MappingFile] = []
    absent: list[str] = []
    for entity in ENTITIES:
        path = folder / entity.file_name
        if not path.is_file():
            absent.append(entity.file_name)
            continue
        sql = query_of(_read_mapping(path))
        if not sql:
            raise MappingProblem(_("{file} holds no query.", file=path))
        found.append(MappingFile(entity, path, sql))
    if not found:
        names = ", ".join(entity.file_name for entity in ENTITIES)
        raise MappingProblem(
            _("{folder} holds none of the mapping files ({names}).", folder=folder, names=names)
        )
    return found, absent


def _read_mapping(path: Path) -> str:
    """A mapping file's text; one that is not UTF-8, or cannot be read, is a MappingProblem."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MappingProblem(
            _(
                "{file} is not UTF-8 text (byte {position}): save it as UTF-8.",
                file=path,
                position=exc.start,
            )
        ) from exc
    except OSError as exc:
        raise MappingProblem(
            _("{file} cannot be read: {reason}", file=path, reason=exc.strerror or exc)
        ) from exc


def query_of(text: str) -> str:
    """The statement to send: the file without its leading comment header and its final ';'
    (some drivers refuse a trailing semicolon)."""
    lines = text.splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip().rstrip(";").strip()
