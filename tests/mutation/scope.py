"""What `make mutants` mutates and how it reads the result: the scope (tests/mutation/scope.toml),
the equivalent mutants (tests/mutation/equivalent.toml) and the rule families of POLICY.md."""
from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCOPE_FILE = HERE / "scope.toml"
EQUIVALENT_FILE = HERE / "equivalent.toml"

# The rule families of POLICY.md, by the first and last rule of each.
FAMILIES = (
    ("P01-P05 consent", 1, 5),
    ("P06-P12 sending", 6, 12),
    ("P13-P15 tracking", 13, 15),
    ("P16-P20 rights", 16, 20),
    ("P21-P25 retention", 21, 25),
    ("P26-P28 security", 26, 28),
    ("P29-P35 added", 29, 35),
)


def family_of(rule: str) -> str:
    number = int(rule.upper().removeprefix("P"))
    for name, first, last in FAMILIES:
        if first <= number <= last:
            return name
    raise ValueError(f"no rule family holds {rule}")


@dataclass(frozen=True)
class Module:
    """A module the run mutates: its rules and, when not all of it enforces them, the functions
    that do (names as in the source: `clean_row`, or `Signer.verify` for a method)."""

    path: str
    rules: tuple[str, ...]
    functions: frozenset[str] | None

    @property
    def dotted(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(family_of(rule) for rule in self.rules))

    def holds(self, mutant: str) -> bool:
        """Whether the mutant (mutmut's name, `chalicelib.x.y.x_f__mutmut_3`) is in scope."""
        return self.functions is None or function_of(mutant) in self.functions


def function_of(mutant: str) -> str:
    """`clean_row` for `...imports.x_clean_row__mutmut_3`; `Signer.verify` for a method."""
    mangled = mutant.rpartition("__mutmut_")[0].rpartition(".")[2]
    if mangled.startswith("xǁ"):
        _, class_name, name = mangled.split("ǁ")
        return f"{class_name}.{name}"
    return mangled.removeprefix("x_")


def modules(only: Sequence[str] = ()) -> list[Module]:
    """The modules of scope.toml; with `only` (paths as scope.toml writes them), just those.
    ValueError for a path scope.toml does not hold, so a typo cannot run nothing."""
    data = tomllib.loads(SCOPE_FILE.read_text("utf-8"))
    scope = [Module(path=entry["path"], rules=tuple(entry["rules"]),
                    functions=frozenset(entry["functions"]) if "functions" in entry else None)
             for entry in data["module"]]
    unknown = sorted(set(only) - {module.path for module in scope})
    if unknown:
        raise ValueError(f"not in {SCOPE_FILE.name}: {', '.join(unknown)}")
    return [module for module in scope if not only or module.path in only]


def settings() -> dict[str, object]:
    return tomllib.loads(SCOPE_FILE.read_text("utf-8"))["run"]


@dataclass(frozen=True)
class Equivalent:
    mutant: str
    mutated: str  # the mutant's changed line, so a renumbered mutant is not silently excused
    reason: str


def equivalents() -> dict[str, Equivalent]:
    data = tomllib.loads(EQUIVALENT_FILE.read_text("utf-8")) if EQUIVALENT_FILE.exists() else {}
    return {entry["mutant"]: Equivalent(**entry) for entry in data.get("equivalent", [])}
