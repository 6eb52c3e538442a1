"""Whether a DELETE or UPDATE predicate can leave rows untouched: the guard's 'every row' analysis (an extra line in an approval message)."""

from __future__ import annotations


def filters(pred: object) -> bool:
    """True if a WHERE predicate can leave rows out. Trivially true ones do not: constants only
    (``1 = 1``, ``TRUE``), the same column on both sides (``id = id``), ``x IS NULL OR x IS NOT NULL``."""
    from sqlglot import exp

    while isinstance(pred, exp.Paren):
        pred = pred.this
    assert isinstance(pred, exp.Expr)
    if isinstance(pred, exp.And):
        return filters(pred.this) or filters(pred.expression)
    if isinstance(pred, exp.Or):
        left, right = pred.this, pred.expression
        complementary = negation_of(left) == key(right) or negation_of(right) == key(left)
        return filters(left) and filters(right) and not complementary
    if isinstance(pred, exp.Not):
        inner = pred.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        return filters(inner) and not isinstance(inner, (exp.And, exp.Or))
    if isinstance(pred, (exp.Exists, exp.In, exp.Between)) and pred.find(exp.Column, exp.Subquery) is not None:
        return True
    if isinstance(pred, exp.Binary):
        left, right = columns(pred.this), columns(pred.expression)
        if not left and not right:
            return False
        return left != right or pred.find(exp.Subquery) is not None
    return pred.find(exp.Column) is not None


def columns(node: object) -> set[str]:
    from sqlglot import exp

    return {c.sql() for c in node.find_all(exp.Column)} if isinstance(node, exp.Expr) else set[str]()


def key(pred: object) -> str:
    from sqlglot import exp

    while isinstance(pred, exp.Paren):
        pred = pred.this
    return pred.sql() if isinstance(pred, exp.Expr) else str(pred)


def negation_of(pred: object) -> str:
    """The SQL of what ``pred`` negates (``NOT x`` → ``x``), or '' when it negates nothing."""
    from sqlglot import exp

    while isinstance(pred, exp.Paren):
        pred = pred.this
    return key(pred.this) if isinstance(pred, exp.Not) else ""
