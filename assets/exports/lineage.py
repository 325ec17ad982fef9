"""What a merchant's query reads and what each of its output columns comes from, derived with sqlglot
from the SQL itself — never taken from what the request says (第二十七条 来源可溯).

The merchant writes the query as in its workspace: datasets by name (``agricultural_subsidies``, or
``grant_g0001.agricultural_subsidies`` as the PostgreSQL views are named). ``analyze``:

1. parses exactly one read-only statement (a ``SELECT``/``UNION``…; anything else is refused), with no
   function outside the known SQL functions (no ``pg_read_file``, ``load_extension`` …);
2. resolves every table to a dataset of the operation platform and qualifies every column against
   the published columns — without expanding ``*`` — so an item outside the live grant is named;
3. qualifies again against the granted columns only (``*`` expands to what the workspace view shows)
   and traces each output column to its source items, noting whether an aggregate stands between;
4. rewrites the query for execution: every dataset becomes a subquery of its granted columns of
   ``operation_<dataset>`` (what the workspace's views are), and, for an aggregate, a microdata query
   — one row per contributing record with the cell's keys and the aggregated values — that statistical
   disclosure control needs (dominance is a property of contributions, not of totals).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

# sqlglot's optimizer (qualify, scope, lineage) is imported where a query is analyzed, not with this
# module: the pipeline imports it through the export assets and never analyzes a query (0.1 s of
# every `publicdata run`'s start)

OPERATION_PREFIX = "operation_"
GRANT_SCHEMA_PREFIX = "grant_"
# functions sqlglot does not know by type are refused unless listed here (harmless text/date helpers)
SAFE_ANONYMOUS = frozenset(
    {"strftime", "julianday", "printf", "format", "to_char", "date_part", "ifnull", "nvl"}
)
KEY_PREFIX = "__g"
VALUE_PREFIX = "__v"


class LineageError(ValueError):
    """A query that cannot be exported: ``reasons`` in Chinese, each naming the table or column."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("；".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class OutputColumn:
    name: str
    sources: tuple[tuple[str, str], ...]  # (dataset, column) the value is computed from
    aggregated: bool  # an aggregate function stands between the sources and this column


@dataclass(frozen=True)
class AggregateShape:
    """The cells of an aggregate query: output key column → microdata key column, and for each
    aggregated output column its (function, microdata value column or None for ``count(*)``)."""

    microdata_sql: str
    keys: tuple[str, ...]  # microdata key columns (one per GROUP BY expression)
    key_of_output: Mapping[str, str]  # output column → microdata key column
    values: Mapping[str, tuple[tuple[str, str | None], ...]]

    @property
    def mappable(self) -> bool:
        """Every cell key appears among the output columns (cells can be matched and suppressed)."""
        return set(self.key_of_output.values()) == set(self.keys)


@dataclass(frozen=True)
class QueryPlan:
    dialect: str
    reads: Mapping[str, tuple[str, ...]]  # dataset → columns read anywhere (filters, joins, output)
    outputs: tuple[OutputColumn, ...]
    executable_sql: str
    aggregate: AggregateShape | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def datasets(self) -> list[str]:
        return sorted(self.reads)


def dataset_of_table(name: str, published: Mapping[str, object]) -> str | None:
    if name in published:
        return name
    if name.startswith(OPERATION_PREFIX) and name[len(OPERATION_PREFIX) :] in published:
        return name[len(OPERATION_PREFIX) :]
    return None


def _parse(sql: str, dialect: str) -> exp.Query:
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as exc:
        detail = exc.errors[0]["description"] if exc.errors else str(exc)
        raise LineageError([f"查询无法解析：{detail}"]) from None
    if len(statements) != 1:
        raise LineageError([f"出域申请只能包含一条查询语句（收到 {len(statements)} 条）"])
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise LineageError([f"只能申请只读查询（SELECT），收到 {statement.key.upper()} 语句"])
    writes = [
        node.key.upper()
        for node in statement.walk()
        if isinstance(node, exp.Insert | exp.Update | exp.Delete | exp.Create | exp.Drop)
    ]
    if writes or statement.find(exp.Into):
        raise LineageError(
            ["查询中含有写入操作（" + "、".join(writes or ["INTO"]) + "），不能出域"]
        )
    return statement


def _functions(statement: exp.Expression) -> list[str]:
    refused = []
    for node in statement.find_all(exp.Anonymous):
        name = str(node.name).lower()
        if name not in SAFE_ANONYMOUS:
            refused.append(f"函数 {node.name}() 不在允许的 SQL 函数之列")
    return refused


def _rename_tables(
    statement: exp.Query, published: Mapping[str, object]
) -> tuple[exp.Query, list[str]]:
    """Each table reference → its dataset (schema and ``operation_`` prefix dropped, the old name
    kept as the alias so ``t.col`` still resolves); the reasons for tables that are no dataset."""
    tree = statement.copy()
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    problems: list[str] = []
    for table in list(tree.find_all(exp.Table)):
        name, schema = table.name, table.db
        if not schema and name in ctes:
            continue
        dataset = dataset_of_table(name, published)
        if schema and not schema.startswith(GRANT_SCHEMA_PREFIX):
            problems.append(f"表 {schema}.{name} 不是运营平台工作区的数据集，不能查询")
            continue
        if dataset is None:
            problems.append(f"表 {name} 不是运营平台发布的数据集")
            continue
        alias = table.alias or name
        table.set("db", None)
        table.set("catalog", None)
        table.set("this", exp.to_identifier(dataset))
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return tree, problems


def _schema(columns: Mapping[str, object]) -> dict[str, dict[str, str]]:
    return {dataset: {c: "TEXT" for c in cols} for dataset, cols in columns.items()}


def _qualify(tree: exp.Query, schema: dict, dialect: str, *, expand_stars: bool) -> exp.Query:
    from sqlglot.optimizer.qualify import qualify

    try:
        return qualify(
            tree.copy(),
            schema=schema,
            dialect=dialect,
            expand_stars=expand_stars,
            validate_qualify_columns=True,
            quote_identifiers=True,
        )
    except SqlglotError as exc:
        raise LineageError([f"查询中的字段无法解析（不存在或不在授权范围）：{exc}"]) from None


def _reads(tree: exp.Query) -> dict[str, set[str]]:
    """dataset → columns referenced anywhere; a dataset read with no column (count(*)) maps to ∅."""
    from sqlglot.optimizer.scope import traverse_scope

    reads: dict[str, set[str]] = {}
    for scope in traverse_scope(tree):
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                reads.setdefault(source.name, set())
        for column in scope.columns:
            source = scope.sources.get(column.table)
            if isinstance(source, exp.Table):
                reads.setdefault(source.name, set()).add(column.name)
    return reads


def _aggregates(node: exp.Expression) -> list[exp.AggFunc]:
    """Aggregate calls of a projection, not counting window functions or subqueries."""
    found: list[exp.AggFunc] = []

    def visit(current: exp.Expression) -> None:
        if isinstance(current, exp.Window | exp.Subquery | exp.Select):
            return
        if isinstance(current, exp.AggFunc):
            found.append(current)
            return
        for child in current.iter_expressions():
            visit(child)

    visit(node)
    return found


def _outputs(tree: exp.Query, schema: dict, dialect: str) -> list[OutputColumn]:
    from sqlglot.lineage import lineage

    outputs = []
    for projection in tree.selects:
        name = projection.alias_or_name
        try:
            node = lineage(name, tree, schema=schema, dialect=dialect)
        except SqlglotError:
            # a column lineage cannot follow: count it as computed from everything the query reads
            reads = _reads(tree)
            sources = tuple(sorted((d, c) for d, cols in reads.items() for c in cols))
            outputs.append(OutputColumn(name, sources, bool(_aggregates(projection))))
            continue
        sources: set[tuple[str, str]] = set()
        aggregated = False
        for step in node.walk():
            if isinstance(step.expression, exp.Expression) and _aggregates(step.expression):
                aggregated = True
            if not step.downstream and isinstance(step.source, exp.Table):
                sources.add((step.source.name, step.name.split(".")[-1].strip('"')))
        outputs.append(OutputColumn(name, tuple(sorted(sources)), aggregated))
    return outputs


def _over_operation(tree: exp.Query, granted: Mapping[str, tuple[str, ...]], dialect: str) -> str:
    """The qualified query with each dataset replaced by a subquery of its granted columns of the
    operation table: what the merchant's workspace view holds, no more."""
    out = tree.copy()
    for table in list(out.find_all(exp.Table)):
        dataset = table.name
        if dataset not in granted:
            continue
        columns = [exp.column(c, quoted=True) for c in granted[dataset]]
        inner = exp.select(*columns).from_(
            exp.Table(this=exp.to_identifier(OPERATION_PREFIX + dataset, quoted=True))
        )
        alias = table.alias or dataset
        table.replace(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return out.sql(dialect=dialect)


def _aggregate_shape(
    tree: exp.Query, granted: Mapping[str, tuple[str, ...]], dialect: str
) -> AggregateShape | None:
    """The microdata behind an aggregate query's outermost SELECT; None for a record-level query."""
    if not isinstance(tree, exp.Select):
        return None
    group = tree.args.get("group")
    groups = list(group.expressions) if group else []
    projections = list(tree.expressions)
    if not groups and not any(_aggregates(p) for p in projections):
        return None
    micro = tree.copy()
    for arg in ("group", "having", "order", "limit", "offset", "distinct", "qualify"):
        micro.set(arg, None)
    select: list[exp.Expression] = []
    keys = []
    for i, expression in enumerate(groups):
        key = f"{KEY_PREFIX}{i}"
        keys.append(key)
        select.append(exp.alias_(expression.copy(), key, quoted=True))
    key_of_output: dict[str, str] = {}
    values: dict[str, tuple[tuple[str, str | None], ...]] = {}
    for i, projection in enumerate(projections):
        name = projection.alias_or_name
        calls = _aggregates(projection)
        if not calls:
            bare = projection.unalias()
            for j, expression in enumerate(groups):
                if bare == expression:
                    key_of_output[name] = keys[j]
            continue
        entries: list[tuple[str, str | None]] = []
        for j, call in enumerate(calls):
            argument = call.this
            if isinstance(argument, exp.Distinct):
                argument = argument.expressions[0] if argument.expressions else None
            if argument is None or isinstance(argument, exp.Star):
                entries.append((call.key, None))
                continue
            column = f"{VALUE_PREFIX}{i}_{j}"
            select.append(exp.alias_(argument.copy(), column, quoted=True))
            entries.append((call.key, column))
        values[name] = tuple(entries)
    if not select:
        select.append(exp.alias_(exp.Literal.number(1), "__one", quoted=True))
    micro.set("expressions", select)
    return AggregateShape(
        microdata_sql=_over_operation(micro, granted, dialect),
        keys=tuple(keys),
        key_of_output=key_of_output,
        values=values,
    )


def analyze(
    sql: str,
    *,
    dialect: str,
    published: Mapping[str, tuple[str, ...]],
    granted: Mapping[str, tuple[str, ...]],
) -> QueryPlan:
    """The lineage and executable forms of ``sql``; ``LineageError`` naming every table and column
    outside ``granted`` (dataset → granted columns) among ``published`` (dataset → columns)."""
    statement = _parse(sql, dialect)
    problems = _functions(statement)
    tree, table_problems = _rename_tables(statement, published)
    problems += table_problems
    if problems:
        raise LineageError(problems)
    explicit = _reads(_qualify(tree, _schema(published), dialect, expand_stars=False))
    for dataset, columns in sorted(explicit.items()):
        if dataset not in granted:
            problems.append(f"数据集 {dataset} 不在数据商生效中的授权范围内")
            continue
        for column in sorted(columns - set(granted[dataset])):
            problems.append(f"{dataset}.{column} 不在授权的信息项之内")
    if problems:
        raise LineageError(problems)
    scoped = {d: cols for d, cols in granted.items() if d in explicit}
    schema = _schema(scoped)
    qualified = _qualify(tree, schema, dialect, expand_stars=True)
    reads = _reads(qualified)
    return QueryPlan(
        dialect=dialect,
        reads={d: tuple(sorted(cols)) for d, cols in sorted(reads.items())},
        outputs=tuple(_outputs(qualified, schema, dialect)),
        executable_sql=_over_operation(qualified, scoped, dialect),
        aggregate=_aggregate_shape(qualified, scoped, dialect),
    )
