"""Eligibility rules (CEL compiled to SQL), their Python reference, and entitlement formulas.

    from programs.eligibility import RuleContext, RuleError, compile_rule, compile_number, compile_formula

See docs/programs.md ("Eligibility rules", "Entitlement formulas") for the language and its defaults.
"""

from programs.eligibility.compiler import (
    ANY_RUN,
    CompiledRule,
    RuleContext,
    RuleError,
    compile_number,
    compile_rule,
    merge_joins,
)
from programs.eligibility.formula import (
    CompiledFormula,
    CompiledItem,
    FormulaError,
    FormulaResult,
    compile_formula,
    evaluate_formula,
)
from programs.eligibility.variables import FUNCTIONS, VARIABLES

__all__ = [
    "ANY_RUN",
    "FUNCTIONS",
    "VARIABLES",
    "CompiledFormula",
    "CompiledItem",
    "CompiledRule",
    "FormulaError",
    "FormulaResult",
    "RuleContext",
    "RuleError",
    "compile_formula",
    "compile_number",
    "compile_rule",
    "evaluate_formula",
    "merge_joins",
]
