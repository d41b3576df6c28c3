#!/usr/bin/env python3
"""Generates C++ message codecs from the *.msg descriptions in this folder.

Usage: gen.py OUT_DIR FILE.msg...

Writes, into OUT_DIR/kafka/:
  <api>.h                 every API's messages (the request and response
                          descriptions named <api>_request.msg /
                          <api>_response.msg share one header)
  api_key_enum.h          enum class ApiKey: one enumerator per request
                          description, named after its file (<api>)
  api_table.inc           the ApiInfo rows of supported_apis(), ordered by key
                          (src/kafka/api_key.cc includes it)
  request_body.h          RequestBody, the variant of every request type, and
                          decode_request_body(), the switch on the API key
  generated_registry.h    every generated message with its versions and a
                          stable fuzz id, for the golden tests and the fuzz
                          target

Description format (one message per file, '#' starts a comment):

  message HeartbeatRequest api=12 versions=0-4 flexible=4+
  group_id           string
  generation_id      int32    default=-1
  group_instance_id  string   versions=3+ nullable=3+
  topics             []Topic  versions=0+
    name             string
    partitions       []int32
  extra              int32    versions=3+ tag=0

The header line names the C++ struct, the API key (api=-1 for records that
are not requests or responses) and the versions the message exists in;
flexible=N+ (or none) is where compact encodings and tagged fields start;
after_decode=yes calls a hand-written after_decode(msg, version) once a
decode succeeds or fails (src/kafka/message_hooks.cc);
header=NAME writes kafka/NAME.h instead of kafka/<api>.h (for an API whose
hand-written helpers keep the <api>.h name and include the generated one).

A request description is also the API's row in the API table:
advertise=A-B is the range ApiVersions lists and decode_request() accepts
(default: versions; it must lie inside versions), serve=N+ the first version
the broker serves -- requests in [A, N) decode and are answered with
UNSUPPORTED_VERSION (default: A).
Records that are neither requests nor responses (api=-1) take id=N, their
stable fuzz id.
Each field line is: name, type, then options. Types: int8 int16 int32 int64
uint16 varint varlong bool float64 uuid string bytes records, []T for arrays
of any of those, a CamelCase name for a nested struct, []CamelCase for an
array of structs; a struct's fields follow indented by two more spaces.
A struct field with no indented fields below it reuses the struct of that
name declared elsewhere in the message (same C++ type at both places); the
fields of a reused struct exist wherever the struct does unless they say
versions= themselves.
Options: versions=A+ or A-B (default: the message's), nullable=A+ (strings,
bytes, records, arrays), tag=N (a tagged field, flexible versions only; a
tagged nested struct is sent when one of its fields is not its default),
default=V (C++ default and, for tagged fields, the value not sent);
default=empty on a nullable array makes its C++ default an empty list
instead of null.
"""

import os
import re
import sys

PRIMS = {
    # type: (C++ type, io method, default)
    "int8": ("std::int8_t", "i8", "0"),
    "int16": ("std::int16_t", "i16", "0"),
    "int32": ("std::int32_t", "i32", "0"),
    "int64": ("std::int64_t", "i64", "0"),
    "uint16": ("std::uint16_t", "u16", "0"),
    "varint": ("std::int32_t", "varint", "0"),
    "varlong": ("std::int64_t", "varlong", "0"),
    "bool": ("bool", "boolean", "false"),
    "float64": ("double", "f64", "0"),
    "uuid": ("Uuid", "uuid", None),
    "string": ("std::string", "str", None),
    "bytes": ("ByteVec", "bytes", None),
    "records": ("RecordsRef", "records", None),
}
NULLABLE_IO = {"string": "nstr", "bytes": "nbytes"}

INF = 1 << 15


class SchemaError(Exception):
    pass


def parse_range(text, where):
    m = re.fullmatch(r"(\d+)\+", text)
    if m:
        return (int(m.group(1)), INF)
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if m:
        return (int(m.group(1)), int(m.group(2)))
    m = re.fullmatch(r"(\d+)", text)
    if m:
        return (int(m.group(1)), int(m.group(1)))
    if text == "none":
        return (INF, INF)
    raise SchemaError(f"{where}: bad version range '{text}'")


class Field:
    def __init__(self, name, typ, opts, where):
        self.name = name
        self.type = typ
        self.where = where
        self.versions = None
        self.explicit_versions = False
        self.nullable = (INF, INF)
        self.tag = None
        self.default = None
        self.fields = []  # nested struct fields
        for o in opts:
            if "=" not in o:
                raise SchemaError(f"{where}: option '{o}' is not key=value")
            k, v = o.split("=", 1)
            if k == "versions":
                self.versions = parse_range(v, where)
                self.explicit_versions = True
            elif k == "nullable":
                self.nullable = parse_range(v, where)
            elif k == "tag":
                self.tag = int(v)
            elif k == "default":
                self.default = v
            else:
                raise SchemaError(f"{where}: unknown option '{k}'")
        self.is_array = typ.startswith("[]")
        self.elem = typ[2:] if self.is_array else typ
        self.is_struct = self.elem[:1].isupper()
        if not self.is_struct and self.elem not in PRIMS:
            raise SchemaError(f"{where}: unknown type '{typ}'")
        if self.nullable[0] != INF and not (self.is_array or self.elem in ("string", "bytes", "records")):
            raise SchemaError(f"{where}: only strings, bytes, records and arrays can be nullable")
        if self.is_struct and not self.is_array and self.nullable[0] != INF:
            raise SchemaError(f"{where}: a nested struct cannot be nullable")

    def any_nullable(self):
        return self.nullable[0] < INF and self.elem != "records"


class Message:
    def __init__(self, name, api, versions, flexible, path, header=None, after_decode=False):
        self.advertise = versions
        self.serve = versions[0]
        self.record_id = None
        self.header = header
        self.after_decode = after_decode
        self.name = name
        self.api = api
        self.versions = versions
        self.flexible = flexible
        self.path = path
        self.fields = []


def parse(path):
    msg = None
    stack = []  # (indent, field list)
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            indent = len(line) - len(line.lstrip(" "))
            words = line.split()
            if words[0] == "message":
                if msg is not None:
                    raise SchemaError(f"{where}: one message per file")
                opts = dict(w.split("=", 1) for w in words[2:])
                known = {"api", "versions", "flexible", "header", "after_decode", "advertise", "serve", "id"}
                for k in opts:
                    if k not in known:
                        raise SchemaError(f"{where}: unknown message option '{k}'")
                msg = Message(words[1], int(opts.get("api", "-1")), parse_range(opts["versions"], where),
                              parse_range(opts.get("flexible", "none"), where), path, opts.get("header"),
                              opts.get("after_decode") == "yes")
                if "advertise" in opts:
                    msg.advertise = parse_range(opts["advertise"], where)
                    if msg.advertise[0] < msg.versions[0] or msg.advertise[1] > msg.versions[1]:
                        raise SchemaError(f"{where}: advertise= must lie inside versions=")
                msg.serve = parse_range(opts["serve"], where)[0] if "serve" in opts else msg.advertise[0]
                if "id" in opts:
                    msg.record_id = int(opts["id"])
                if msg.api < 0 and msg.record_id is None:
                    raise SchemaError(f"{where}: a record (api=-1) needs id=N")
                if msg.api >= 0 and not re.fullmatch(r"[A-Z]\w*(Request|Response)", msg.name):
                    raise SchemaError(f"{where}: an API message is named <Name>Request or <Name>Response")
                if ("advertise" in opts or "serve" in opts) and not msg.name.endswith("Request"):
                    raise SchemaError(f"{where}: advertise= and serve= belong on the request")
                stack = [(0, msg.fields, None)]
                continue
            if msg is None:
                raise SchemaError(f"{where}: field before the message line")
            if len(words) < 2:
                raise SchemaError(f"{where}: a field needs a name and a type")
            while stack and indent < stack[-1][0]:
                stack.pop()
            if not stack or indent != stack[-1][0]:
                raise SchemaError(f"{where}: bad indentation")
            fld = Field(words[0], words[1], words[2:], where)
            parent = stack[-1][2]
            if fld.versions is None:
                fld.versions = parent.versions if parent is not None else msg.versions
            stack[-1][1].append(fld)
            if fld.is_struct:
                stack.append((indent + 2, fld.fields, fld))
    if msg is None:
        raise SchemaError(f"{path}: no message line")
    if not msg.fields:
        raise SchemaError(f"{path}: a message needs at least one field")
    link_reused_structs(msg)
    return msg


def link_reused_structs(msg):
    """A struct field without fields of its own takes the fields of the
    struct of that name declared elsewhere in the message."""
    declared = {}
    uses = []

    def walk(fields):
        for f in fields:
            if not f.is_struct:
                continue
            if f.fields:
                if f.elem in declared:
                    raise SchemaError(f"{f.where}: struct {f.elem} declared twice")
                declared[f.elem] = f.fields
                walk(f.fields)
            else:
                uses.append(f)

    def widen(fields):
        for f in fields:
            if not f.explicit_versions:
                f.versions = (0, INF)
            widen(f.fields)

    walk(msg.fields)
    for f in uses:
        if f.elem not in declared:
            raise SchemaError(f"{f.where}: struct {f.elem} has no fields and is not declared elsewhere")
        f.fields = declared[f.elem]
        widen(f.fields)


def fuzz_id(m):
    """Stable 16-bit id: 2*api for a request, 2*api+1 for a response,
    0x8000+id for a record. Adding descriptions never changes others' ids."""
    if m.api >= 0:
        return 2 * m.api + (1 if m.name.endswith("Response") else 0)
    return 0x8000 + m.record_id


def cond(rng, outer, var="io.v"):
    """C++ condition for `var` in rng, given it is already within `outer`."""
    lo, hi = rng
    parts = []
    if lo > outer[0]:
        parts.append(f"{var} >= {lo}")
    if hi < outer[1]:
        parts.append(f"{var} <= {hi}")
    if lo > hi or lo >= INF:
        return "false"
    return " && ".join(parts)


def vcond(rng):
    """C++ condition for `v` in rng (for sample(); v is any int16)."""
    parts = [f"v >= {rng[0]}"]
    if rng[1] < INF:
        parts.append(f"v <= {rng[1]}")
    return " && ".join(parts)


def intersect(a, b):
    return (max(a[0], b[0]), min(a[1], b[1]))


class Gen:
    def __init__(self, msg):
        self.msg = msg
        self.out = []

    def ctype(self, f, scope):
        if f.is_struct:
            base = f"{self.msg.name}::{f.elem}"
        else:
            base = PRIMS[f.elem][0]
        if f.is_array:
            t = f"std::vector<{base}>"
        else:
            t = base
        if f.any_nullable():
            t = f"std::optional<{t}>"
        return t

    def default_init(self, f):
        if f.default == "empty":
            if not (f.is_array and f.any_nullable()):
                raise SchemaError(f"{f.where}: default=empty is for nullable arrays")
            return f" = {self.ctype(f, None)[len('std::optional<'):-1]}{{}}"
        if f.default is not None and not f.is_array:
            if f.elem == "string":
                return f' = "{f.default}"' if f.default != "null" else ""
            return f" = {f.default}"
        if not f.is_array and not f.is_struct and PRIMS[f.elem][2] is not None:
            return f" = {PRIMS[f.elem][2]}"
        if not f.is_array and f.elem == "uuid":
            return "{}"  # zeroed: a default-initialized message has no indeterminate id
        return ""

    def emit_struct(self, name, fields, scope, indent):
        pad = " " * indent
        self.out.append(f"{pad}struct {name} {{")
        if indent == 0 and self.msg.api >= 0:
            self.out.append(f"{pad}  static constexpr ApiKey kApiKey = static_cast<ApiKey>({self.msg.api});")
        if indent == 0:
            self.out.append(f"{pad}  static constexpr std::int16_t kMinVersion = {self.msg.versions[0]};")
            self.out.append(f"{pad}  static constexpr std::int16_t kMaxVersion = {self.msg.versions[1]};")
            fl = self.msg.flexible[0] if self.msg.flexible[0] < INF else -1
            self.out.append(f"{pad}  static constexpr std::int16_t kFlexibleFrom = {fl};")
        if indent == 0:
            # Nested structs are declared flat inside the message (names are
            # unique per message), innermost first.
            seen = {}
            self.collect_structs(fields, seen)
            for sname, sfields in seen.items():
                self.emit_struct(sname, sfields, self.msg.name, indent + 2)
        for f in fields:
            note = self.version_note(f)
            self.out.append(f"{pad}  {self.ctype(f, scope)} {f.name}{self.default_init(f)};{note}")
        self.out.append(f"{pad}}};")

    def collect_structs(self, fields, seen):
        for f in fields:
            if f.is_struct:
                self.collect_structs(f.fields, seen)
                if f.elem in seen and seen[f.elem] is not f.fields:
                    raise SchemaError(f"{f.where}: struct {f.elem} declared twice")
                seen[f.elem] = f.fields

    def version_note(self, f):
        bits = []
        if f.versions != self.msg.versions:
            lo, hi = f.versions
            bits.append(f"v{lo}+" if hi >= INF else f"v{lo}-{hi}")
        if f.tag is not None:
            bits.append(f"tag {f.tag}")
        return f"  // {', '.join(bits)}" if bits else ""

    def io_call(self, f, io, ref, nullable_cond, depth, scope):
        """Statement(s) reading/writing one field value `ref` (non-tagged)."""
        if f.is_array:
            elem_t = f"{self.msg.name}::{f.elem}" if f.is_struct else PRIMS[f.elem][0]
            e = f"e{depth}"
            sub = f"io{depth}"
            body = self.elem_body(f, sub, e, depth + 1, scope)
            lam = f"[&](auto& {sub}, {elem_t}& {e}) {{ {body} }}"
            if f.any_nullable():
                if nullable_cond == "":
                    return f"{io}.narray({ref}, {lam});"
                return (f"if ({nullable_cond}) {io}.narray({ref}, {lam}); "
                        f"else {io}.nonnull({ref}, [&](auto& x) {{ {io}.array(x, {lam}); }});")
            return f"{io}.array({ref}, {lam});"
        if f.is_struct:
            return self.struct_body(f.fields, io, ref, depth, f"{self.msg.name}::{f.elem}", f.versions)
        method = PRIMS[f.elem][1]
        if f.any_nullable():
            nm = NULLABLE_IO[f.elem]
            if nullable_cond == "":
                return f"{io}.{nm}({ref});"
            return (f"if ({nullable_cond}) {io}.{nm}({ref}); "
                    f"else {io}.nonnull({ref}, [&](auto& x) {{ {io}.{method}(x); }});")
        return f"{io}.{method}({ref});"

    def elem_body(self, f, io, e, depth, scope):
        if f.is_struct:
            return self.struct_body(f.fields, io, e, depth, f"{self.msg.name}::{f.elem}", f.versions)
        return f"{io}.{PRIMS[f.elem][1]}({e});"

    def struct_body(self, fields, io, ref, depth, scope, outer):
        lines = []
        plain = [f for f in fields if f.tag is None]
        tagged = [f for f in fields if f.tag is not None]
        for f in plain:
            rng = intersect(f.versions, outer)
            if rng[0] > rng[1]:
                continue
            c = cond(rng, outer, f"{io}.v")
            ncond = ""
            if f.any_nullable():
                nr = intersect(f.nullable, rng)
                if nr != rng:
                    ncond = cond(nr, rng, f"{io}.v") if nr[0] <= nr[1] else "false"
            stmt = self.io_call(f, io, f"{ref}.{f.name}", ncond, depth, scope)
            lines.append(f"if ({c}) {{ {stmt} }}" if c else stmt)
        if self.msg.flexible[0] < INF:
            lines.append(self.tagged_body(tagged, io, ref, depth, scope, outer))
        return " ".join(lines)

    def tagged_body(self, tagged, io, ref, depth, scope, outer):
        if not tagged:
            return f"{io}.tags();"
        cases = []
        sends = []
        for f in tagged:
            rng = intersect(f.versions, outer)
            c = cond(rng, outer, f"{io}.v") or "true"
            val = f"{ref}.{f.name}"
            stmt = self.io_call(f, "t", val, "", depth + 1, scope)
            cases.append(f"case {f.tag}: if ({c}) {{ {stmt} return true; }} return false;")
            sends.append((c, f.tag, stmt, self.not_default(f, val)))
        dec = (f"{io}.tagged([&](std::uint32_t tag, auto& t) -> bool {{ switch (tag) {{ "
               + " ".join(cases) + " default: return false; } });")
        count = " ".join(f"n += ({c}) && ({nd}) ? 1u : 0u;" for c, _, _, nd in sends)
        writes = " ".join(f"if (({c}) && ({nd})) {io}.tag({tag}, [&](auto& t) {{ {stmt} }});"
                          for c, tag, stmt, nd in sends)
        enc = f"std::uint32_t n = 0; {count} {io}.tag_count(n); {writes}"
        return f"if constexpr (std::decay_t<decltype({io})>::reading) {{ {dec} }} else if ({io}.flexible()) {{ {enc} }}"

    def not_default(self, f, val):
        if f.is_array:
            return f"{val}.has_value()" if f.any_nullable() else f"!{val}.empty()"
        if f.any_nullable():
            return f"{val}.has_value()"
        if f.elem == "string":
            d = f.default or ""
            return f'{val} != "{d}"'
        if f.elem in ("bytes",):
            return f"!{val}.empty()"
        if f.elem == "uuid":
            return f"{val} != Uuid{{}}"
        if f.is_struct:
            # Sent when any of its fields differs from its default (Kafka
            # omits a tagged struct equal to its default).
            inner = [self.not_default(g, f"{val}.{g.name}") for g in f.fields if g.tag is None]
            return "(" + " || ".join(inner) + ")" if inner else "false"
        d = f.default or PRIMS[f.elem][2]
        return f"{val} != {d}"

    def serde(self):
        m = self.msg
        body = self.struct_body(m.fields, "io", "m", 1, m.name, m.versions)
        self.out.append("")
        if m.after_decode:
            self.out.append("// Hand-written (src/kafka/message_hooks.cc): what decoding derives beyond the wire.")
            self.out.append(f"void after_decode({m.name}& m, std::int16_t version);")
            self.out.append("")
        self.out.append("template <class Io>")
        self.out.append(f"void serde(Io& io, {m.name}& m) {{")
        self.out.extend(reindent(body, 1))
        if m.after_decode:
            self.out.append("  if constexpr (Io::reading) after_decode(m, io.v);")
        self.out.append("}")

    def sample(self):
        """sample(m, v, seed): every field present at v set to a value that is
        not its default (nullable ones null when seed is odd)."""
        m = self.msg
        self.out.append("")
        self.out.append(f"inline void sample({m.name}& m, std::int16_t v, int seed) {{")
        self.out.append("  (void)v; (void)seed; static const std::byte kRec[] = {std::byte{1}, std::byte{2}, std::byte{3}};")
        self.out.append("  (void)kRec;")
        counter = [0]
        self.sample_fields(m.fields, "m", m.name, 1, counter)
        self.out.append("}")

    def sample_value(self, f, ref, counter):
        counter[0] += 1
        k = counter[0]
        e = f.elem
        if e == "string":
            return f'{ref} = "s{k}-" + std::to_string(seed);'
        if e == "bytes":
            return f"{ref} = ByteVec{{std::byte{{{k % 250}}}, std::byte(seed & 0xff)}};"
        if e == "records":
            return f"{ref}.bytes = std::span<const std::byte>(kRec);"
        if e == "uuid":
            return f"{ref}.fill(std::byte{{{k % 250 + 1}}}); {ref}[0] = std::byte(seed & 0xff);"
        if e == "bool":
            return f"{ref} = true;"
        if e == "float64":
            return f"{ref} = {k}.5 + seed;"
        ct = PRIMS[e][0]
        return f"{ref} = static_cast<{ct}>({k} + seed);"

    def sample_fields(self, fields, ref, scope, depth, counter):
        pad = "  " * depth
        for f in fields:
            c = vcond(f.versions)
            val = f"{ref}.{f.name}"
            self.out.append(f"{pad}if ({c}) {{")
            tgt = val
            if f.any_nullable():
                self.out.append(f"{pad}  if ((seed & 1) && {vcond(f.nullable)}) {{ {val}.reset(); }} else {{")
                self.out.append(f"{pad}  {val}.emplace();")
                tgt = f"(*{val})"
            if f.is_array:
                et = f"{self.msg.name}::{f.elem}" if f.is_struct else PRIMS[f.elem][0]
                self.out.append(f"{pad}  for (int i{depth} = 0; i{depth} < 2; ++i{depth}) {{")
                self.out.append(f"{pad}    {et} x{depth}{{}};")
                if f.is_struct:
                    self.sample_fields(f.fields, f"x{depth}", f"{self.msg.name}::{f.elem}", depth + 2, counter)
                else:
                    self.out.append(f"{pad}    {self.sample_value(f, f'x{depth}', counter)}")
                self.out.append(f"{pad}    {tgt}.push_back(std::move(x{depth}));")
                self.out.append(f"{pad}  }}")
            elif f.is_struct:
                self.sample_fields(f.fields, tgt, f"{self.msg.name}::{f.elem}", depth + 1, counter)
            else:
                self.out.append(f"{pad}  {self.sample_value(f, tgt, counter)}")
            if f.any_nullable():
                self.out.append(f"{pad}  }}")
            self.out.append(f"{pad}}}")


def reindent(code, depth):
    """Splits generated one-line code at '{ ', '; ' and '} ' and indents it."""
    text = code.replace("{ ", "{\n").replace("; ", ";\n").replace("} ", "}\n")
    out = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if line.startswith("}"):
            depth -= 1
        if line.startswith("else") and out and out[-1].strip() == "}":
            out[-1] = out[-1] + " " + line
        else:
            out.append("  " * depth + line)
        if line.endswith("{"):
            depth += 1
    return out


HEADER = """// Generated by src/kafka/schema/gen.py from {srcs}.
// Do not edit: change the description and rebuild.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {{
"""


def api_of(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    return re.sub(r"_(request|response)$", "", stem)


def check_pairs(msgs):
    """Request/response pairs agree on the API key and the flexible versions;
    every API key has one request; stable fuzz ids are unique."""
    reqs = {}
    ids = {}
    for m in msgs:
        fid = fuzz_id(m)
        if fid in ids:
            raise SchemaError(f"{m.path}: same fuzz id as {ids[fid].path}")
        ids[fid] = m
        if m.api >= 0 and m.name.endswith("Request"):
            if m.api in reqs:
                raise SchemaError(f"{m.path}: api={m.api} already described by {reqs[m.api].path}")
            reqs[m.api] = m
    for m in msgs:
        if m.api >= 0 and m.name.endswith("Response"):
            q = reqs.get(m.api)
            if q is None:
                raise SchemaError(f"{m.path}: no request description with api={m.api}")
            if q.flexible != m.flexible or q.versions != m.versions:
                raise SchemaError(f"{m.path}: versions/flexible differ from {q.path}")
    return [reqs[k] for k in sorted(reqs)]


def api_table(reqs):
    enum = ["// Generated by src/kafka/schema/gen.py from the request descriptions.", "#pragma once", "",
            "#include <cstdint>", "", "namespace nocopy::kafka {", "",
            "// One enumerator per API nocopy speaks, named after its description file.",
            "enum class ApiKey : std::int16_t {"]
    rows = ["// Generated by src/kafka/schema/gen.py: the ApiInfo rows of supported_apis(), by key.",
            "// key, name, advertised min/max, served from, flexible from, label"]
    for q in reqs:
        label = api_of(q.path)
        enum.append(f"  {label} = {q.api},")
        flex = min(q.flexible[0], 32767)
        rows.append(f'{{ApiKey::{label}, "{q.name[:-len("Request")]}", {q.advertise[0]}, {q.advertise[1]}, '
                    f'{q.serve}, {flex}, "{label}"}},')
    enum += ["};", "", f"inline constexpr int kApiCount = {len(reqs)};", "", "}  // namespace nocopy::kafka", ""]
    return "\n".join(enum), "\n".join(rows) + "\n"


def request_body(reqs, header_of):
    lines = ["// Generated by src/kafka/schema/gen.py: the request body of every API, by key.", "#pragma once", "",
             "#include <cstdint>", "#include <variant>", "", '#include "kafka/api_key.h"', '#include "kafka/reader.h"']
    for h in sorted({header_of(q) for q in reqs}):
        lines.append(f'#include "kafka/{h}.h"')
    lines += ["", "namespace nocopy::kafka {", "",
              "using RequestBody = std::variant<std::monostate, " + ", ".join(q.name for q in reqs) + ">;", "",
              "// Decodes the body of API `key` at `version` into `body` (src/kafka/request.cc).",
              "// DecodeError::bad_value for a key with no description.",
              "DecodeError decode_request_body(ApiKey key, Reader& r, std::int16_t version, RequestBody& body);", "",
              "}  // namespace nocopy::kafka", ""]
    cases = ["// Generated by src/kafka/schema/gen.py: the switch of decode_request_body()."]
    for q in reqs:
        cases.append(f"case ApiKey::{api_of(q.path)}: return decode_into<{q.name}>(r, version, body);")
    return "\n".join(lines), "\n".join(cases) + "\n"


def main(argv):
    out_dir = argv[1]
    groups = {}
    msgs = []
    for path in sorted(argv[2:]):
        msg = parse(path)
        msgs.append(msg)
        groups.setdefault(msg.header or api_of(msg.path), []).append(msg)
    reqs = check_pairs(msgs)
    os.makedirs(os.path.join(out_dir, "kafka"), exist_ok=True)
    for api, ms in groups.items():
        lines = [HEADER.format(srcs=", ".join("src/kafka/schema/" + os.path.basename(m.path) for m in ms))]
        for m in ms:
            g = Gen(m)
            g.emit_struct(m.name, m.fields, m.name, 0)
            g.serde()
            g.sample()
            lines.extend(g.out)
            lines.append("")
        lines.append("}  // namespace nocopy::kafka")
        write(os.path.join(out_dir, "kafka", f"{api}.h"), "\n".join(lines) + "\n")
    gen = msgs
    reg = ["// Generated by src/kafka/schema/gen.py: every generated message, for tests and fuzzing.",
           "#pragma once", ""]
    for api in groups:
        reg.append(f'#include "kafka/{api}.h"')
    reg += ["", "namespace nocopy::kafka {", "",
            "// Calls f.template operator()<Msg>(name, fuzz_id) for every generated message.",
            "// fuzz_id: 2*api (request), 2*api+1 (response), 0x8000+id (record); stable as",
            "// descriptions are added.",
            "template <class F>", "void for_each_generated_message(F&& f) {"]
    for m in gen:
        reg.append(f'  f.template operator()<{m.name}>("{m.name}", {fuzz_id(m)});')
    reg += ["}", "", f"inline constexpr int kGeneratedMessageCount = {len(gen)};", "",
            "}  // namespace nocopy::kafka", ""]
    write(os.path.join(out_dir, "kafka", "generated_registry.h"), "\n".join(reg))
    enum, rows = api_table(reqs)
    write(os.path.join(out_dir, "kafka", "api_key_enum.h"), enum)
    write(os.path.join(out_dir, "kafka", "api_table.inc"), rows)
    # kafka/<api>.h: the generated header, or the hand-written one when
    # header= moved the generated messages aside for it to include.
    body, cases = request_body(reqs, lambda q: api_of(q.path))
    write(os.path.join(out_dir, "kafka", "request_body.h"), body)
    write(os.path.join(out_dir, "kafka", "request_dispatch.inc"), cases)


def write(path, text):
    """Writes only when the text changed, so that an edit to one description
    recompiles only what includes the files it changes (Ninja restats)."""
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except SchemaError as e:
        print(f"gen.py: {e}", file=sys.stderr)
        sys.exit(1)
