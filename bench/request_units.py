"""DynamoDB on-demand request units of one item written or read, from the item itself.

Pure rules, no AWS: items are in DynamoDB's JSON (`{"name": {"S": "Ada"}}`), as the low-level API
and moto hold them. The rules follow AWS's "Read/write capacity units" and "Global secondary
indexes: provisioned throughput considerations" pages:

- A write costs ceil(size / 1 KB) WRU, the size being the larger of the item before and after
  (a delete: the item removed); at least 1 WRU, even when nothing was there.
- Each secondary index the item is in, before or after, costs ceil(projected size / 1 KB) more:
  once when the item enters or leaves the index or a projected attribute changes, twice (a delete
  and a put) when the index's own key changes, not at all when the item is in neither form of the
  index (a sparse index) or nothing it projects changed.
- A transaction doubles the units of each item it writes in the table. Its index writes are not
  doubled: DynamoDB updates indexes after the commit, as for any write (an assumption; see
  `TRANSACTION_DOUBLES_INDEX_WRITES`).
- A read costs ceil(size / 4 KB) RRU per item read by key, and ceil(total size / 4 KB) for all
  the items a Query or Scan read; half that when eventually consistent, twice that in a
  transaction; at least one unit (before halving or doubling), even for an item not found.

Sizes follow AWS's item-size rules: attribute names plus values; a number about one byte per two
significant digits plus one; a list or map 3 bytes plus 1 a member. Approximate, as AWS says it is.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
# Index updates of a transaction are ordinary writes (see the module docstring).
TRANSACTION_DOUBLES_INDEX_WRITES = False

Item = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class IndexDefinition:
    """A secondary index as far as its writes go: its key attributes and what it projects."""

    name: str
    key_attributes: tuple[str, ...]
    projection: str = "ALL"  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()

    def holds(self, item: Item | None) -> bool:
        """Whether the item is in the index: it has every attribute of the index's key."""
        return item is not None and all(name in item for name in self.key_attributes)

    def projected(self, item: Item, table_key: Iterable[str]) -> dict[str, Mapping[str, Any]]:
        """The part of the item the index stores."""
        if self.projection == "ALL":
            return dict(item)
        kept = {*table_key, *self.key_attributes, *(self.included if self.projection == "INCLUDE" else ())}
        return {name: value for name, value in item.items() if name in kept}


@dataclass(frozen=True)
class WriteUnits:
    """Write request units of one item written: in the table and in its indexes."""

    table: float = 0.0
    indexes: float = 0.0

    def __add__(self, other: WriteUnits) -> WriteUnits:
        return WriteUnits(self.table + other.table, self.indexes + other.indexes)


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's JSON (`{"S": "x"}`, `{"N": "1.5"}`, ...)."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return _number_size(content)
    if kind == "B":
        return len(content) if isinstance(content, bytes | bytearray) else len(str(content).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(member.encode()) for member in content)
    if kind == "NS":
        return sum(_number_size(member) for member in content)
    if kind == "BS":
        return sum(len(member) for member in content)
    if kind == "L":
        return 3 + sum(1 + value_size(member) for member in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(member) for name, member in content.items())
    raise ValueError(f"not a DynamoDB attribute type: {kind}")


def _number_size(text: str) -> int:
    try:
        digits = Decimal(text).normalize().as_tuple().digits
    except InvalidOperation:
        digits = tuple(text)
    return math.ceil(len(digits) / 2) + 1


def item_size(item: Item | None) -> int:
    """Bytes of an item: every attribute's name and value (0 for no item)."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def index_write_units(old: Item | None, new: Item | None, index: IndexDefinition,
                      table_key: Iterable[str]) -> int:
    """WRU one index takes when an item goes from `old` to `new` (None: no item)."""
    table_key = tuple(table_key)
    was_in, is_in = index.holds(old), index.holds(new)
    if not was_in and not is_in:
        return 0
    before = index.projected(old, table_key) if was_in and old is not None else None
    after = index.projected(new, table_key) if is_in and new is not None else None
    if before is None:
        return _write_units(item_size(after))
    if after is None:
        return _write_units(item_size(before))
    if any(before.get(name) != after.get(name) for name in index.key_attributes):
        return _write_units(item_size(before)) + _write_units(item_size(after))
    if before != after:
        return _write_units(max(item_size(before), item_size(after)))
    return 0


def write_units(old: Item | None, new: Item | None, table_key: Iterable[str],
                indexes: Iterable[IndexDefinition] = (), transactional: bool = False) -> WriteUnits:
    """WRU of writing one item that was `old` and is now `new` (None: absent), in its table and
    in the table's indexes."""
    table_key = tuple(table_key)
    table = _write_units(max(item_size(old), item_size(new)))
    on_indexes = sum(index_write_units(old, new, index, table_key) for index in indexes)
    if transactional:
        table *= 2
        on_indexes *= 2 if TRANSACTION_DOUBLES_INDEX_WRITES else 1
    return WriteUnits(float(table), float(on_indexes))


def read_units(size: int, consistent: bool = False, transactional: bool = False) -> float:
    """RRU of reading `size` bytes in one go: one item by key, or all a Query or Scan read."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2
