"""Limits on what one request may ask for, from the instance's ``[limits]`` table.

Strawberry's ``QueryDepthLimiter``, ``MaxAliasesLimiter`` and ``MaxTokensLimiter`` do the
work. The depth and alias limiters each build a validation rule class when they are
created; we build them once per schema and hand the same classes to every request, so
the ``ValidationCache`` (keyed by the rules) keeps hitting.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from directory_core.instance import Limits


def limit_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Extension factories enforcing ``max_query_depth``, ``max_aliases`` and
    ``max_tokens`` (a fresh extension per request, as strawberry wants)."""
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    return [
        partial(AddValidationRules, rules),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
    ]
