#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Validates a JSON document against a JSON Schema (the draft-07 subset speedscope's
file-format-schema.json uses), then checks what the schema cannot say about a speedscope file.

usage: jsonschema_check.py SCHEMA DOCUMENT [--speedscope]

A keyword this validator does not implement is an error, never silently ignored. When the
Debian package python3-jsonschema is importable, the document is checked with it too.
Exit status: 0 valid, 1 invalid, 2 usage or unreadable input.
"""
import json
import sys

IGNORED = {"$schema", "$id", "title", "description", "definitions", "$comment", "default",
           "examples"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Invalid(Exception):
    pass


def resolve(root, ref):
    if not ref.startswith("#/"):
        raise Invalid(f"unsupported $ref {ref!r}")
    node = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def check(root, schema, value, path):
    for key in schema:
        if key not in IGNORED and key not in KEYWORDS:
            raise Invalid(f"{path}: schema keyword {key!r} is not implemented by this validator")
    for key, arg in schema.items():
        if key in KEYWORDS:
            KEYWORDS[key](root, arg, value, path, schema)


def kw_ref(root, arg, value, path, schema):
    check(root, resolve(root, arg), value, path)


def kw_type(root, arg, value, path, schema):
    types = arg if isinstance(arg, list) else [arg]
    if not any(TYPES[t](value) for t in types):
        raise Invalid(f"{path}: expected {'/'.join(types)}, got {type(value).__name__}")


def kw_properties(root, arg, value, path, schema):
    if isinstance(value, dict):
        for name, sub in arg.items():
            if name in value:
                check(root, sub, value[name], f"{path}.{name}")


def kw_additional(root, arg, value, path, schema):
    if not isinstance(value, dict):
        return
    for name in value:
        if name in schema.get("properties", {}):
            continue
        if arg is False:
            raise Invalid(f"{path}: unexpected property {name!r}")
        if isinstance(arg, dict):
            check(root, arg, value[name], f"{path}.{name}")


def kw_required(root, arg, value, path, schema):
    if isinstance(value, dict):
        for name in arg:
            if name not in value:
                raise Invalid(f"{path}: missing required property {name!r}")


def kw_items(root, arg, value, path, schema):
    if isinstance(value, list):
        if isinstance(arg, list):
            raise Invalid(f"{path}: tuple 'items' is not implemented by this validator")
        for i, v in enumerate(value):
            check(root, arg, v, f"{path}[{i}]")


def kw_const(root, arg, value, path, schema):
    if value != arg or type(value) is not type(arg):
        raise Invalid(f"{path}: expected {arg!r}, got {value!r}")


def kw_enum(root, arg, value, path, schema):
    if value not in arg:
        raise Invalid(f"{path}: {value!r} is not one of {arg!r}")


def kw_anyof(root, arg, value, path, schema):
    errors = []
    for sub in arg:
        try:
            check(root, sub, value, path)
            return
        except Invalid as e:
            errors.append(str(e))
    raise Invalid(f"{path}: matches none of anyOf: " + " | ".join(errors))


def kw_allof(root, arg, value, path, schema):
    for sub in arg:
        check(root, sub, value, path)


KEYWORDS = {
    "$ref": kw_ref, "type": kw_type, "properties": kw_properties,
    "additionalProperties": kw_additional, "required": kw_required, "items": kw_items,
    "const": kw_const, "enum": kw_enum, "anyOf": kw_anyof, "allOf": kw_allof,
}


def speedscope_semantics(doc):
    """What a speedscope reader relies on beyond the schema."""
    nframes = len(doc["shared"]["frames"])
    if not doc["profiles"]:
        raise Invalid("no profiles")
    for i, p in enumerate(doc["profiles"]):
        where = f"profiles[{i}]"
        if p["type"] == "sampled":
            if len(p["samples"]) != len(p["weights"]):
                raise Invalid(f"{where}: {len(p['samples'])} samples but "
                              f"{len(p['weights'])} weights")
            for j, s in enumerate(p["samples"]):
                for f in s:
                    if not (isinstance(f, int) and 0 <= f < nframes):
                        raise Invalid(f"{where}.samples[{j}]: frame {f!r} is not an index "
                                      f"into {nframes} shared frames")
            if any(w < 0 for w in p["weights"]):
                raise Invalid(f"{where}: negative weight")
            if p["endValue"] < p["startValue"]:
                raise Invalid(f"{where}: endValue before startValue")
            if abs(sum(p["weights"]) - (p["endValue"] - p["startValue"])) > 1e-6 * max(
                    1, p["endValue"]):
                raise Invalid(f"{where}: weights do not add up to endValue - startValue")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        with open(args[0], "rb") as f:
            schema = json.load(f)
        with open(args[1], "rb") as f:
            doc = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        print(f"jsonschema_check: {e}", file=sys.stderr)
        return 2 if isinstance(e, OSError) else 1
    try:
        check(schema, schema, doc, "$")
        if "--speedscope" in sys.argv:
            speedscope_semantics(doc)
    except Invalid as e:
        print(f"invalid: {e}", file=sys.stderr)
        return 1
    try:
        import jsonschema  # python3-jsonschema, when installed
    except ImportError:
        jsonschema = None
    if jsonschema:
        try:
            jsonschema.validate(doc, schema)
        except jsonschema.ValidationError as e:
            print(f"invalid (python3-jsonschema): {e.message}", file=sys.stderr)
            return 1
    print("valid" + (" (also checked with python3-jsonschema)" if jsonschema else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
