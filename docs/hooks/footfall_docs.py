"""MkDocs hook: the reference tables that are generated from the code at build time.

A page asks for a table with a line of its own::

    <!-- generated: config-options -->
    <!-- generated: fields footfall.ingest.event.Event -->
    <!-- generated: enum footfall.ingest.event.DropReason -->
    <!-- generated: schema -->
    <!-- generated: openapi -->
    <!-- generated: cli -->

Each is replaced with Markdown built from footfall itself (the ``Config`` dataclass and
the docstrings under its fields, the SQLAlchemy metadata, the OpenAPI document the server
serves, the click commands), so the pages cannot drift from the code. An unknown name, or
a schema column without a description in ``schema_columns.yml``, fails the build.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import inspect
import re
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from mkdocs.exceptions import PluginError

HERE = Path(__file__).parent
DIRECTIVE = re.compile(r"^<!-- generated: ([a-z-]+)(?: (\S+))? -->$", re.MULTILINE)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def expand(match: re.Match[str]) -> str:
        name, argument = match.group(1), match.group(2)
        generator = GENERATORS.get(name)
        if generator is None:
            raise PluginError(f"{page.file.src_path}: unknown generated table {name!r}")
        return generator(argument)

    return DIRECTIVE.sub(expand, markdown)


# -- helpers -----------------------------------------------------------------------------------


def _import(dotted: str | None) -> Any:
    if not dotted:
        raise PluginError("this generated table needs a dotted name, e.g. footfall.Event")
    module_name, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def attribute_docs(node: ast.Module | ast.ClassDef) -> dict[str, str]:
    """The string written under each assignment (the attribute-docstring convention)."""
    docs: dict[str, str] = {}
    for statement, following in pairwise(node.body):
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            name = statement.target.id
        elif (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            name = statement.targets[0].id
        else:
            continue
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[name] = inspect.cleandoc(following.value.value)
    return docs


def class_attribute_docs(cls: type) -> dict[str, str]:
    tree = ast.parse(inspect.getsource(inspect.getmodule(cls)))  # type: ignore[arg-type]
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            return attribute_docs(node)
    raise PluginError(f"no class {cls.__name__} in {cls.__module__}")


def cell(text: str) -> str:
    """Docstring text as one Markdown table cell: one line, ``|`` escaped outside code
    (the tables extension already keeps a ``|`` inside backticks in its cell)."""
    parts = " ".join(text.split()).split("`")
    return "`".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def code(text: str) -> str:
    return f"`{text}`"


def default_text(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return "required"
    if callable(value) and hasattr(value, "__name__"):
        return code(f"{value.__module__}.{value.__name__}")
    if isinstance(value, str):
        return code(f'"{value}"')
    return code(repr(value))


def first_paragraph(doc: str | None) -> str:
    return cell((doc or "").split("\n\n")[0])


# -- the generators ----------------------------------------------------------------------------


def config_options(_argument: str | None) -> str:
    from footfall.config import Config

    docs = class_attribute_docs(Config)
    rows = ["| Option | Type | Default | Meaning |", "|---|---|---|---|"]
    for field in dataclasses.fields(Config):
        doc = docs.get(field.name)
        if not doc:
            raise PluginError(f"Config.{field.name} has no docstring: document it in config.py")
        rows.append(
            f"| {code(field.name)} | {code(str(field.type))} | {default_text(field)} "
            f"| {cell(doc)} |"
        )
    return "\n".join(rows) + "\n"


def fields_table(argument: str | None) -> str:
    cls = _import(argument)
    docs = class_attribute_docs(cls)
    rows = ["| Field | Type | Meaning |", "|---|---|---|"]
    for field in dataclasses.fields(cls):
        if field.name not in docs:
            raise PluginError(f"{argument}.{field.name} has no docstring")
        rows.append(f"| {code(field.name)} | {code(str(field.type))} | {cell(docs[field.name])} |")
    return "\n".join(rows) + "\n"


def enum_table(argument: str | None) -> str:
    cls = _import(argument)
    if not issubclass(cls, enum.Enum):
        raise PluginError(f"{argument} is not an enum")
    docs = class_attribute_docs(cls)
    rows = ["| Value | When |", "|---|---|"]
    for member in cls:
        if member.name not in docs:
            raise PluginError(f"{argument}.{member.name} has no docstring")
        rows.append(f"| {code(str(member.value))} | {cell(docs[member.name])} |")
    return "\n".join(rows) + "\n"


def _column_type(column: Any) -> str:
    from sqlalchemy.dialects import postgresql, sqlite

    type_ = column.type
    generic = type(type_).__name__
    length = getattr(type_, "length", None)
    text = f"{generic}({length})" if length else generic
    pg = type_.compile(dialect=postgresql.dialect())
    lite = type_.compile(dialect=sqlite.dialect())
    return f"{code(text)} ({code(pg)} / {code(lite)})"


def schema(_argument: str | None) -> str:
    from footfall.store import schema as schema_module

    notes = yaml.safe_load((HERE / "schema_columns.yml").read_text(encoding="utf-8"))
    table_docs = attribute_docs(ast.parse(inspect.getsource(schema_module)))
    by_variable = {
        value.name: name
        for name, value in vars(schema_module).items()
        if isinstance(value, type(schema_module.page_view))
    }
    out: list[str] = []
    documented = {name for name in notes if not name.startswith("_")}
    for table in schema_module.metadata.tables.values():
        described = notes.get(table.name)
        if not described:
            raise PluginError(f"table {table.name} has no entry in docs/hooks/schema_columns.yml")
        columns = described.get("columns", {})
        extra = set(columns) - {c.name for c in table.columns}
        if extra:
            raise PluginError(f"schema_columns.yml describes unknown {table.name} columns {extra}")
        out.append(f"### `{table.name}`\n")
        doc = table_docs.get(by_variable.get(table.name, ""), "")
        out.append(cell(described["table"]) + (f" {cell(doc)}" if doc else "") + "\n")
        out.append("| Column | Type (PostgreSQL / SQLite) | Null | Key | Content |")
        out.append("|---|---|---|---|---|")
        for column in table.columns:
            text = columns.get(column.name)
            if not text:
                raise PluginError(
                    f"column {table.name}.{column.name} has no description in "
                    "docs/hooks/schema_columns.yml"
                )
            key = "primary" if column.primary_key else ""
            null = "yes" if column.nullable and not column.primary_key else "no"
            out.append(
                f"| {code(column.name)} | {_column_type(column)} | {null} | {key} | {cell(text)} |"
            )
        indexes = sorted(table.indexes, key=lambda index: index.name or "")
        if indexes:
            listed = ", ".join(
                f"{code(index.name or '')} ({', '.join(c.name for c in index.columns)})"
                for index in indexes
            )
            out.append(f"\nIndexes: {listed}.\n")
        else:
            out.append("")
        documented.discard(table.name)
    if documented:
        raise PluginError(f"schema_columns.yml describes tables that do not exist: {documented}")
    return "\n".join(out) + "\n"


def _schema_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[`{name}`](#{name.lower()})"
    if schema.get("type") == "array":
        return f"array of {_schema_type(schema['items'])}"
    text = code(str(schema.get("type", "")))
    if "enum" in schema:
        text += ": " + ", ".join(code(str(v)) for v in schema["enum"])
    if schema.get("format"):
        text += f" ({schema['format']})"
    if "minimum" in schema or "maximum" in schema:
        text += f", {schema.get('minimum', '')} to {schema.get('maximum', '')}"
    if "default" in schema:
        text += f", default {code(str(schema['default']))}"
    if schema.get("nullable"):
        text += " or `null`"
    return text


def openapi(_argument: str | None) -> str:
    from footfall.config import Config
    from footfall.web.api import openapi as build

    document = build(Config().api_base_path)
    out = [
        f"Generated from the OpenAPI {document['openapi']} document that the server also "
        f"serves at `{Config().api_base_path}/analytics/openapi.json` (default "
        "`api_base_path`).\n"
    ]
    for path, item in document["paths"].items():
        operation = item["get"]
        out.append(f"### `GET {path}`\n")
        out.append(f"{cell(operation['summary'])}.\n")
        parameters = operation.get("parameters", [])
        if parameters:
            out.append("| Query parameter | Type | Meaning |")
            out.append("|---|---|---|")
            for parameter in parameters:
                out.append(
                    f"| {code(parameter['name'])} | {_schema_type(parameter['schema'])} "
                    f"| {cell(parameter.get('description', ''))} |"
                )
            out.append("")
        else:
            out.append("No parameters.\n")
        answers = []
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json")
            body = f": {_schema_type(content['schema'])}" if content else ""
            if content and "properties" in content["schema"]:
                results = content["schema"]["properties"]["results"]
                body = f': `{{"results": [...]}}`, a list of {_schema_type(results["items"])}'
            answers.append(f"- **{status}** {cell(response['description'])}{body}")
        out.append("\n".join(answers) + "\n")
    out.append("### Schemas\n")
    for name, schema_ in sorted(document["components"]["schemas"].items()):
        out.append(f"#### {name}\n")
        out.append("| Field | Type | Meaning |")
        out.append("|---|---|---|")
        for field, field_schema in schema_["properties"].items():
            out.append(
                f"| {code(field)} | {_schema_type(field_schema)} "
                f"| {cell(field_schema.get('description', ''))} |"
            )
        out.append("")
    return "\n".join(out) + "\n"


def cli(_argument: str | None) -> str:
    import click

    from footfall.cli import commands, main

    out: list[str] = []
    context = click.Context(main, info_name="footfall")
    for name, command in commands():
        sub = click.Context(command, info_name=name.removeprefix("footfall "), parent=context)
        out.append(f"### `{name}`\n")
        out.append("```text\n" + sub.get_usage() + "\n```\n")
        out.append(first_paragraph(command.help) + "\n")
        out.append("| Option | Environment variable | Default | Meaning |")
        out.append("|---|---|---|---|")
        for param in command.params:
            if isinstance(param, click.Argument):
                out.append(f"| {code(param.human_readable_name)} (argument) | | | |")
                continue
            if not isinstance(param, click.Option) or param.hidden:
                continue
            names = ", ".join(code(o) for o in [*param.opts, *param.secondary_opts])
            env = code(param.envvar) if isinstance(param.envvar, str) else ""
            default = ""
            if param.show_default and param.default is not None and not param.is_flag:
                default = code(str(param.default))
            out.append(f"| {names} | {env} | {default} | {cell(param.help or '')} |")
        out.append("")
    return "\n".join(out) + "\n"


GENERATORS: dict[str, Callable[[str | None], str]] = {
    "config-options": config_options,
    "fields": fields_table,
    "enum": enum_table,
    "schema": schema,
    "openapi": openapi,
    "cli": cli,
}
