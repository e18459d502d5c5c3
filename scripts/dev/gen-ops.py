#!/usr/bin/env python3
"""Generates jepa-native's PyTorch ops from libtorch's own operator schema.

Reads `native_functions.yaml` as the torch wheel ships it (torchgen/packaged/ATen/native) with
torchgen, the code PyTorch builds its Python bindings with, and asks torchgen for what Python
users call: each name's Python signatures in the order Python's argument parser tries them
(`torch.max(t)`, `torch.max(t, other)`, `torch.max(t, dim)`), with Python's argument names,
keyword-only arguments, defaults and `out=` forms. For every op of op_catalog.py it writes

  lib/tensor/ops.generated.ts   functions on `jepa` and methods on `Tensor`: typed overloads
                                with TSDoc, and the data the runtime (lib/tensor/ops.ts)
                                resolves calls with
  lib/tensor/namespaces.generated.ts   the members of `jepa.linalg` and `jepa.nn.functional`
  docs/tensors.md               the op list, between the `ops:begin` / `ops:end` markers

Run it with the test Python (torch installed): `npm run gen:ops`, or
`.venv/bin/python scripts/dev/gen-ops.py [--check]`. `--check` writes nothing and fails when the
committed files differ from what it would write (test/ops.test.mjs runs it).

The one-line descriptions (op_catalog.py) are ours; the signatures, defaults and overload order come from
torchgen. Ops that are Python code in torch rather than ATen operators (torch.norm,
nn.functional.normalize / interpolate, torch.pca_lowrank) are written by hand in
lib/tensor/functional.ts; op_catalog.HANDWRITTEN lists them for the docs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

import torch
import torchgen
from torchgen.api.python import PythonSignatureDeprecated, signature as python_signature, structseq_fieldnames
from torchgen.gen import parse_native_yaml
from torchgen.model import BaseTy, BaseType, ListType, OptionalType, SchemaKind, Variant
from torchgen.packaged.autograd import gen_python_functions as gpf

# The schema's version: the same for the CPU and CUDA wheels of a release.
TORCH_VERSION = torch.__version__.split('+')[0]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TS_OUT = os.path.join(ROOT, 'lib', 'tensor', 'ops.generated.ts')
NS_OUT = os.path.join(ROOT, 'lib', 'tensor', 'namespaces.generated.ts')
DOC_OUT = os.path.join(ROOT, 'docs', 'tensors.md')

# What jepa exposes: scripts/dev/op_catalog.py (this script's folder is on sys.path).
from op_catalog import (  # noqa: E402
    TORCH, METHOD_ONLY, SCHEMA_ONLY, LINALG, NN, NN_FROM_TORCH, HANDWRITTEN, HAND_METHODS, HAND_FUNCTIONS,
)

# ---------------------------------------------------------------------------------------------


def load():
    base = os.path.join(os.path.dirname(torchgen.__file__), 'packaged')
    parsed = parse_native_yaml(os.path.join(base, 'ATen', 'native', 'native_functions.yaml'),
                               os.path.join(base, 'ATen', 'native', 'tags.yaml'))
    everything = parsed.native_functions
    bound = [f for f in everything if gpf.should_generate_py_binding(f)]
    deprecated = os.path.join(base, 'autograd', 'deprecated.yaml')
    functions = gpf.load_signatures(bound, deprecated, method=False)
    methods = gpf.load_signatures(bound, deprecated, method=True)
    return everything, {
        'torch': gpf.group_filter_overloads(functions, gpf.is_py_torch_function),
        'method': gpf.group_filter_overloads(methods, gpf.is_py_variable_method),
        'linalg': gpf.group_filter_overloads(functions, gpf.is_py_linalg_function),
        'nn': gpf.group_filter_overloads(functions, gpf.is_py_nn_function),
    }


def groups_of(pool, name):
    for key, pairs in pool.items():
        if str(key) == name:
            return gpf.sort_overloads(gpf.group_overloads(pairs, symint=True), symint=True)
    return None


def kind_of(t):
    """Our name of a schema type, or None when JS cannot pass it (Dimname, Storage, ...)."""
    if isinstance(t, OptionalType):
        inner = kind_of(t.elem)
        return None if inner is None else inner + '?'
    if isinstance(t, ListType):
        if isinstance(t.elem, OptionalType) and isinstance(t.elem.elem, BaseType) and t.elem.elem.name == BaseTy.Tensor:
            return 'Tensor?[]'
        inner = kind_of(t.elem)
        if inner not in ('int', 'float', 'bool', 'Tensor'):
            return None
        return f'{inner}[{t.size or ""}]'
    if isinstance(t, BaseType):
        return {
            BaseTy.Tensor: 'Tensor', BaseTy.Scalar: 'Scalar', BaseTy.int: 'int', BaseTy.SymInt: 'int',
            BaseTy.float: 'float', BaseTy.bool: 'bool', BaseTy.str: 'str', BaseTy.ScalarType: 'dtype',
            BaseTy.Layout: 'layout', BaseTy.Device: 'device', BaseTy.MemoryFormat: 'memory_format',
            BaseTy.Generator: 'Generator',
        }.get(t.name)
    return None


PY_DEFAULTS = {
    '::std::nullopt': 'None', 'c10::nullopt': 'None', 'nullptr': 'None', '{}': 'None', 'None': 'None',
    'True': 'True', 'False': 'False', 'true': 'True', 'false': 'False',
    'c10::MemoryFormat::Contiguous': 'torch.contiguous_format', 'at::kLong': 'torch.int64',
    'MemoryFormat::Contiguous': 'torch.contiguous_format',
}


def py_default(d):
    if d is None:
        return None
    if d in PY_DEFAULTS:
        return PY_DEFAULTS[d]
    if d.startswith('"') and d.endswith('"'):
        return "'" + d[1:-1] + "'"
    return d


def returns_of(func, inplace_self):
    rets = func.returns
    if len(rets) == 0:
        return 'n'
    if inplace_self and len(rets) == 1 and rets[0].annotation is not None and rets[0].annotation.is_write:
        return 'self'
    kinds = [kind_of(r.type) for r in rets]
    if len(rets) == 1:
        return {'Tensor': 't', 'Tensor[]': 'tl', 'int': 'i', 'float': 'f', 'bool': 'b', 'Scalar': 's'}.get(kinds[0], None)
    if all(k == 'Tensor' for k in kinds):
        names = structseq_fieldnames(rets)
        return ['tt', len(rets)] + names
    return None


def schema_name(func):
    return f'aten::{func.name.name}', func.name.overload_name


def build_sig(name, grp, method, numbers_as_tensors):
    """The data of one Python signature, or None when JS cannot call it."""
    sig = grp.signature
    if isinstance(sig, PythonSignatureDeprecated):
        return None
    func = grp.base.func
    schema_args = [a.name for a in func.schema_order_arguments()]
    kw_names = {a.name for a in sig.input_kwargs} | {a.name for a in sig.tensor_options_args}
    params = []
    for a in sig.arguments(skip_outputs=True, skip_tensor_options=False):
        if a.name == 'requires_grad':
            continue  # Python's autograd flag: jepa's tensors do not record gradients
        kind = kind_of(a.type)
        if kind is None:
            return None
        if a.name not in schema_args:
            return None
        flags = (1 if a.default is not None else 0) | (2 if a.name in kw_names else 0)
        # Python calls a function's first tensor `input` (a method's is the receiver)
        pname = 'input' if a.name == 'self' and kind == 'Tensor' and not method else a.name
        params.append({'name': pname, 'schema_name': a.name, 'kind': kind, 'index': schema_args.index(a.name), 'flags': flags,
                       'default': py_default(a.default)})
    entry = {'op': schema_name(func), 'n': len(schema_args), 'params': params}
    if 'self' in schema_args:
        entry['self'] = schema_args.index('self')
    elif method:
        return None
    inplace = func.kind() == SchemaKind.inplace
    ret = returns_of(func, inplace)
    if ret is None:
        return None
    entry['r'] = ret
    if grp.outplace is not None and sig.output_args is not None:
        ofunc = grp.outplace.func
        oargs = [a.name for a in ofunc.schema_order_arguments()]
        outs = [oargs.index(a.name) for a in ofunc.arguments.out]
        entry['out'] = {'op': schema_name(ofunc), 'n': len(oargs),
                        'map': [oargs.index(p['schema_name']) if p['schema_name'] in oargs else -1 for p in params],
                        'outs': outs}
    entry['nat'] = bool(numbers_as_tensors)
    return entry


def build_schema_only(everything, aten, overload, method):
    for f in everything:
        if str(f.func.name.name) == aten and f.func.name.overload_name == overload:
            sig = python_signature(f, method=method)

            class Grp:
                signature = sig
                base = f
                outplace = None
            return build_sig(aten, Grp, method, False)
    raise SystemExit(f'gen-ops: no operator aten::{aten}.{overload}')


# ---------------------------------------------------------------------------------------------
# TypeScript


def ts_kind(kind, nat):
    opt = kind.endswith('?') and not kind.endswith('[]?') or kind.endswith(']?')
    base = kind[:-1] if kind.endswith('?') else kind
    m = re.fullmatch(r'(\w+)\[(\d*)\]', base)
    if base == 'Tensor?[]':
        t = '(Tensor | null)[]'
    elif m:
        elem = {'int': 'number', 'float': 'number', 'bool': 'boolean', 'Tensor': 'Tensor'}[m.group(1)]
        t = f'{elem}[]' if not m.group(2) else f'{elem} | {elem}[]'
    else:
        t = {
            'Tensor': 'Tensor | Scalar' if nat else 'Tensor', 'Scalar': 'Scalar', 'int': 'number', 'float': 'number',
            'bool': 'boolean', 'str': 'string', 'dtype': 'Dtype', 'layout': "'strided'", 'device': 'Device',
            'memory_format': 'MemoryFormat', 'Generator': 'Generator',
        }[base]
    return f'{t} | null' if opt else t


def ts_return(r, method):
    if r == 't':
        return 'Tensor'
    if r == 'self':
        return 'this' if method else 'Tensor'
    if r == 'tl':
        return 'Tensor[]'
    if r in ('i', 'f'):
        return 'number'
    if r == 'b':
        return 'boolean'
    if r == 's':
        return 'number | boolean'
    if r == 'n':
        return 'void'
    count, names = r[1], r[2:]
    tup = '[' + ', '.join(['Tensor'] * count) + ']'
    if names:
        return f'{tup} & {{ ' + '; '.join(f'{n}: Tensor' for n in names) + ' }'
    return tup


# JS reserved words among the op names: the constant gets a `_`, the export keeps Python's name.
RESERVED = {'var', 'delete', 'new', 'function', 'in', 'typeof', 'void', 'with', 'default', 'export', 'import'}


def ts_name(n):
    return {'from': 'from_', 'function': 'function_'}.get(n, n)


def ts_overloads(entry, method):
    params = [p for p in entry['params']]
    pos = [p for p in params if not p['flags'] & 2]
    kws = [p for p in params if p['flags'] & 2]
    ret = ts_return(entry['r'], method)
    nat = entry['nat']
    out_t = None
    if 'out' in entry:
        r = entry['r']
        out_t = 'Tensor' if r in ('t', 'self') or isinstance(r, str) else 'Tensor[]'

    def opts_type(props, required_names=()):
        fields = []
        for p in props:
            q = '' if p['name'] in required_names else '?'
            fields.append(f"{ts_name(p['name'])}{q}: {ts_kind(p['kind'], nat)}")
        if out_t:
            fields.append(f'out?: {out_t}')
        return '{ ' + '; '.join(fields) + ' }' if fields else None

    required_kw = [p['name'] for p in kws if not p['flags'] & 1]
    out = []
    # 1. positional style
    args = []
    for p in pos:
        q = '?' if p['flags'] & 1 else ''
        args.append(f"{ts_name(p['name'])}{q}: {ts_kind(p['kind'], nat)}")
    o = opts_type(kws, required_kw)
    if o:
        args.append(f"options{'' if required_kw else '?'}: {o}")
    # an optional parameter before a required one is not allowed in TS: make them required
    seen_required = False
    for i in range(len(args) - 1, -1, -1):
        if '?:' not in args[i].split(':')[0] + ':' and not args[i].startswith('options?'):
            seen_required = True
        elif seen_required:
            args[i] = args[i].replace('?:', ':', 1)
    out.append(f"({', '.join(args)}): {ret}")
    # 2. trailing positional parameters with defaults given by name
    opt_pos = [p for p in pos if p['flags'] & 1]
    if opt_pos:
        req = [p for p in pos if not p['flags'] & 1]
        args2 = [f"{ts_name(p['name'])}: {ts_kind(p['kind'], nat)}" for p in req]
        args2.append(f"options: {opts_type(opt_pos + kws, required_kw)}")
        out.append(f"({', '.join(args2)}): {ret}")
    # 3. every parameter after the first (a function's input; a method's first argument too) by name
    head = pos[:0 if method else 1]
    tail = [p for p in pos if p not in head]
    if tail:
        args3 = [f"{ts_name(p['name'])}: {ts_kind(p['kind'], nat)}" for p in head]
        required = [p['name'] for p in tail if not p['flags'] & 1] + required_kw
        args3.append(f"options: {opts_type(tail + kws, required)}")
        out.append(f"({', '.join(args3)}): {ret}")
    # 4. Python's varargs form of a lone int list: view(2, 3), zeros(2, 3)
    if len(pos) == 1 and re.fullmatch(r'int\[\d*\]', pos[0]['kind']):
        o = opts_type(kws, required_kw)
        name = ts_name(pos[0]['name'])
        if not required_kw:
            out.append(f"(...{name}: number[]): {ret}")
        if o:
            out.append(f"(...args: [...{name}: number[], options: {o}]): {ret}")
    return out


def py_signature_text(display, entry, method):
    parts, star = [], False
    for p in entry['params']:
        if p['flags'] & 2 and not star:
            parts.append('*')
            star = True
        name = p['name']
        parts.append(name if p['default'] is None else f"{name}={p['default']}")
    if 'out' in entry:
        if not star:
            parts.append('*')
        parts.append('out=None')
    return f"{display}({', '.join(parts)})"


def js_data(entry):
    def op(o):
        return f"'{o[0]}.{o[1]}'" if o[1] else f"'{o[0]}'"
    def param(p):
        d = '' if p['default'] is None else ', ' + json.dumps(p['default'])
        return f"['{p['name']}', '{p['kind']}', {p['index']}, {p['flags']}{d}]"
    ps = ', '.join(param(p) for p in entry['params'])
    fields = [f"op: {op(entry['op'])}", f"n: {entry['n']}", f'p: [{ps}]']
    r = entry['r']
    fields.append('r: ' + (f"'{r}'" if isinstance(r, str) else '[' + ', '.join(repr(x) if isinstance(x, str) else str(x) for x in r).replace('"', "'") + ']'))
    if 'self' in entry:
        fields.append(f"self: {entry['self']}")
    if 'out' in entry:
        o = entry['out']
        fields.append(f"out: {{ op: {op(o['op'])}, n: {o['n']}, map: [{', '.join(map(str, o['map']))}], outs: [{', '.join(map(str, o['outs']))}] }}")
    if entry['nat']:
        fields.append('nat: true')
    return '{ ' + ', '.join(fields) + ' }'


def doc_comment(indent, description, python_texts, see):
    lines = [f'{indent}/**', f'{indent} * {description}', f'{indent} *']
    lines.append(f'{indent} * Python: ' + ' · '.join(f'`{t}`' for t in python_texts))
    if see:
        lines.append(f'{indent} * @see {see}')
    lines.append(f'{indent} */')
    return '\n'.join(lines)


def pytorch_doc_url(qualified):
    return f'https://docs.pytorch.org/docs/stable/generated/{qualified}.html'


class Gen:
    def __init__(self):
        self.everything, self.pools = load()
        self.functions = []  # (js name, description, entries)
        self.methods = []  # (js name, description, entries)
        self.linalg = []
        self.nn = []
        self.schema_ops = {}

    def entries(self, pool, name, method):
        groups = groups_of(self.pools[pool], name)
        if groups is None:
            raise SystemExit(f'gen-ops: torchgen has no {pool} op {name}')
        nat = torch._C._should_allow_numbers_as_tensors(name)
        out = [e for e in (build_sig(name, grp, method, nat) for grp in groups) if e is not None]
        if not out:
            raise SystemExit(f'gen-ops: no signature of {pool} {name} can be called from JS')
        return out

    def collect(self):
        method_names = {str(k) for k in self.pools['method']}
        for name, desc in TORCH:
            if name not in HAND_FUNCTIONS:
                self.functions.append((name, desc, self.entries('torch', name, False)))
            if name in method_names and name not in HAND_METHODS:
                self.methods.append((name, desc, self.entries('method', name, True)))
            if name + '_' in method_names and not name.endswith('_'):
                self.methods.append((name + '_', f'In-place form of `{name}`: writes the result into this tensor.',
                                     self.entries('method', name + '_', True)))
        for name, desc in METHOD_ONLY:
            self.methods.append((name, desc, self.entries('method', name, True)))
        for name, aten, overload, variants, desc in SCHEMA_ONLY:
            if 'function' in variants:
                self.functions.append((name, desc, [build_schema_only(self.everything, aten, overload, False)]))
            if 'method' in variants:
                self.methods.append((name, desc, [build_schema_only(self.everything, aten, overload, True)]))
        for aten, short, desc in LINALG:
            self.linalg.append((short, desc, self.entries('linalg', aten, False)))
        for name, desc in NN:
            self.nn.append((name, desc, self.entries('nn', name, False)))
        self.methods.sort(key=lambda m: m[0])

    def python_texts(self, display, entries, method):
        return [py_signature_text(display, e, method) for e in entries]

    def ts(self):
        out = []
        w = out.append
        w('// Generated by scripts/dev/gen-ops.py from the operator schema of libtorch '
          f'{TORCH_VERSION} (native_functions.yaml,')
        w("// through torchgen's Python signatures). Do not edit: run `npm run gen:ops`. See docs/tensors.md.")
        w("import type { Device, Dtype } from '../core/dtype';")
        w("import type { Tensor } from './tensor';")
        w("import type { Generator } from './generator';")
        w("import { defineFunction, installMethods, type MemoryFormat, type Scalar } from './ops';")
        w('')
        for name, desc, entries in self.functions:
            w(doc_comment('', desc, self.python_texts(f'torch.{name}', entries, False), pytorch_doc_url(f'torch.{name}')))
            overloads = '\n'.join(f'  {o};' for o in dict.fromkeys(x for e in entries for x in ts_overloads(e, False)))
            ident = name + '_' if name in RESERVED else name
            w(f'{"" if ident != name else "export "}const {ident}: {{\n{overloads}\n}} = defineFunction(\'{name}\', [')
            for e in entries:
                w(f'  {js_data(e)},')
            w(']);')
            if ident != name:
                w(f'export {{ {ident} as {name} }};')
            w('')
        w("declare module './tensor' {")
        w('  interface Tensor {')
        for name, desc, entries in self.methods:
            w(doc_comment('    ', desc, self.python_texts(f'Tensor.{name}', entries, True), pytorch_doc_url(f'torch.Tensor.{name}')))
            for o in dict.fromkeys(x for e in entries for x in ts_overloads(e, True)):
                w(f'    {name}{o};')
        w('  }')
        w('}')
        w('')
        w('installMethods({')
        for name, _desc, entries in self.methods:
            w(f'  {name}: [')
            for e in entries:
                w(f'    {js_data(e)},')
            w('  ],')
        w('});')
        return fix_imports('\n'.join(out) + '\n')

    def ts_namespaces(self):
        out = []
        w = out.append
        w('// Generated by scripts/dev/gen-ops.py from the operator schema of libtorch '
          f'{TORCH_VERSION}: the generated members of')
        w("// jepa.linalg and jepa.nn.functional (lib/tensor/api.ts adds the hand-written ones). Do not edit: run")
        w('// `npm run gen:ops`. See docs/tensors.md.')
        w("import type { Device, Dtype } from '../core/dtype';")
        w("import type { Tensor } from './tensor';")
        w("import type { Generator } from './generator';")
        w("import { defineFunction, type MemoryFormat, type Scalar } from './ops';")
        w('')
        for label, items, prefix in (('linalgOps', self.linalg, 'torch.linalg.'), ('nnFunctionalOps', self.nn, 'torch.nn.functional.')):
            w(f'/** Generated members of `jepa.{"linalg" if label == "linalgOps" else "nn.functional"}`. */')
            w(f'export const {label} = {{')
            for name, desc, entries in items:
                w(doc_comment('  ', desc, self.python_texts(prefix + name, entries, False), pytorch_doc_url(prefix + name)))
                overloads = '\n'.join(f'    {o};' for o in dict.fromkeys(x for e in entries for x in ts_overloads(e, False)))
                w(f"  {name}: defineFunction('{prefix[6:]}{name}', [")
                for e in entries:
                    w(f'    {js_data(e)},')
                w(f'  ]) as {{\n{overloads}\n  }},')
            w('};')
            w('')
        w('/** The names generated, for the parity test. */')
        w('export const GENERATED = {')
        w('  functions: [' + ', '.join(f"'{n}'" for n, _, _ in self.functions) + '],')
        w('  methods: [' + ', '.join(f"'{n}'" for n, _, _ in self.methods) + '],')
        w('  linalg: [' + ', '.join(f"'{n}'" for n, _, _ in self.linalg) + '],')
        w('  nnFunctional: [' + ', '.join(f"'{n}'" for n, _, _ in self.nn) + '],')
        w('};')
        return fix_imports('\n'.join(out) + '\n')

    def docs(self):
        out = []
        w = out.append
        w(f'<!-- ops:begin: generated by scripts/dev/gen-ops.py from libtorch {TORCH_VERSION}\'s operator schema; do not edit -->')
        w('')

        def table(title, rows):
            w(f'### {title}')
            w('')
            w('| op | Python signature(s) | what it does |')
            w('|---|---|---|')
            for name, sigs, desc in rows:
                cell = '<br>'.join('`' + s + '`' for s in sigs)
                escaped = desc.replace('|', '\\|')
                w(f'| `{name}` | {cell} | {escaped} |')
            w('')

        rows = [(f'jepa.{n}', self.python_texts(n, es, False), d) for n, d, es in self.functions]
        rows += [(f'jepa.{n}', [s], d + ' *(hand-written)*') for n, s, d in HANDWRITTEN['torch']]
        rows.sort(key=lambda r: r[0])
        table(f'Functions on `jepa` (torch.*): {len(rows)}', rows)
        table(f'`jepa.linalg` (torch.linalg): {len(self.linalg)}',
              [(f'linalg.{n}', self.python_texts(n, es, False), d) for n, d, es in self.linalg])
        nn_rows = [(f'nn.functional.{n}', self.python_texts(n, es, False), d) for n, d, es in self.nn]
        nn_rows += [(f'nn.functional.{n}', [s], d + ' *(hand-written)*') for n, s, d in HANDWRITTEN['nn.functional']]
        nn_rows += [(f'nn.functional.{n}', ['same as `jepa.' + n + '`'], 'The torch function of the same name.') for n in NN_FROM_TORCH]
        nn_rows.sort(key=lambda r: r[0])
        table(f'`jepa.nn.functional` (torch.nn.functional): {len(nn_rows)}', nn_rows)
        inplace = [n for n, d, _ in self.methods if d.startswith('In-place form')]
        plain = [(f't.{n}', self.python_texts(n, es, True), d) for n, d, es in self.methods if not d.startswith('In-place form')]
        plain.append(('t.norm', ["norm(p='fro', dim=None, keepdim=False, *, dtype=None)"], 'As `jepa.norm` *(hand-written)*.'))
        plain.sort(key=lambda r: r[0])
        table(f'Tensor methods: {len(plain)} (and {len(inplace)} in-place forms)', plain)
        w('In-place forms (`t.add_(x)` writes into `t` and returns `t`): ' + ', '.join(f'`{n}`' for n in inplace) + '.')
        w('')
        w('<!-- ops:end -->')
        return '\n'.join(out) + '\n'


def fix_imports(text):
    """Drops the type imports a generated file does not use (tsc's noUnusedLocals)."""
    body = '\n'.join(l for l in text.split('\n') if not l.startswith('import '))

    def used(name):
        return re.search(rf'\b{name}\b', body) is not None

    lines = []
    for line in text.split('\n'):
        m = re.match(r"import (type )?\{ (.*) \} from '(.*)';$", line)
        if m:
            names = [n for n in m.group(2).split(', ') if used(n.replace('type ', ''))]
            if not names:
                continue
            line = f"import {m.group(1) or ''}{{ {', '.join(names)} }} from '{m.group(3)}';"
        lines.append(line)
    return '\n'.join(lines)


def replace_between_markers(text, block):
    begin = text.find('<!-- ops:begin')
    end = text.find('<!-- ops:end -->')
    if begin < 0 or end < 0:
        raise SystemExit(f'gen-ops: {DOC_OUT} has no <!-- ops:begin --> / <!-- ops:end --> markers')
    return text[:begin] + block + text[end + len('<!-- ops:end -->\n'):]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check', action='store_true', help='fail if the committed files are not up to date')
    args = ap.parse_args()
    gen = Gen()
    gen.collect()
    outputs = {TS_OUT: gen.ts(), NS_OUT: gen.ts_namespaces()}
    with open(DOC_OUT, encoding='utf8') as f:
        outputs[DOC_OUT] = replace_between_markers(f.read(), gen.docs())
    stale = []
    for path, text in outputs.items():
        current = open(path, encoding='utf8').read() if os.path.exists(path) else None
        if current != text:
            stale.append(os.path.relpath(path, ROOT))
            if not args.check:
                with open(path, 'w', encoding='utf8') as f:
                    f.write(text)
    if args.check and stale:
        print(f'gen-ops: out of date for torch {torch.__version__} (run `npm run gen:ops`): ' + ', '.join(stale), file=sys.stderr)
        sys.exit(1)
    print(f'gen-ops (torch {torch.__version__}): {len(gen.functions)} functions, {len(gen.methods)} methods, {len(gen.linalg)} linalg, '
          f'{len(gen.nn)} nn.functional' + (f'; wrote {", ".join(stale)}' if stale and not args.check else ''))


if __name__ == '__main__':
    main()
