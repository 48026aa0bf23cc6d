#!/usr/bin/env python3
"""Renders a corpus of small Jinja snippets, one per language feature and edge
case that chat templates use, with transformers' own compiled environment
(_compile_jinja_template: ImmutableSandboxedEnvironment with trim_blocks,
lstrip_blocks, loop controls, the {% generation %} tracker, tojson,
raise_exception, strftime_now, dict and namespace), the one
apply_chat_template renders with. Writes
tests/data/templates/jinja_snippets.golden.jsonl, one line per snippet:
  {"template", "context", "text", "generation_spans"?}   or
  {"template", "context", "error"}
generation_spans are UTF-8 byte offsets (transformers' generation_indices
count Python str characters). tests/test_jinja.cpp renders every line with
Talon's interpreter and requires identical bytes (or an error).

Usage: .venv/bin/python scripts/goldens/make_jinja_goldens.py
"""
import json
import re
import pathlib

from transformers.utils.chat_template_utils import _compile_jinja_template

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests/data/templates/jinja_snippets.golden.jsonl"

MESSAGES = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Hi there\n"},
    {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nHello!", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}}]},
    {"role": "tool", "content": "{\"temp\": 21.5}"},
    {"role": "user", "content": "Thanks é ✓ 😀"},
]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather.", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]}}}]
DEFAULT = {
    "messages": MESSAGES, "tools": TOOLS, "add_generation_prompt": True, "bos_token": "<s>", "eos_token": "</s>",
    "xs": [3, 1, 2], "words": ["b", "A", "c", "a"], "d": {"b": 2, "a": 1, "c": None}, "s": "  Hello World  ",
    "n": 7, "f": 2.5, "t": True, "e": [], "nested": {"a": {"b": [1, {"c": "deep"}]}},
    "people": [{"name": "Ann", "age": 31}, {"name": "bob", "age": 25}, {"name": "Cid", "age": 31, "x": None}],
}

CASES = []


def case(template, **context):
    CASES.append((template, context if context else DEFAULT))


# --- Text, comments and whitespace control (trim_blocks, lstrip_blocks, -, +)
for t in [
    "plain text", "a\nb\n", "a\n\n", "a\r\nb\rc", "{# c #}x", "x{# c #}\ny", "  {# c #}\ny", "x {#- c -#} y",
    "{% if true %}\nyes\n{% endif %}\n", "  {% if true %}\n  yes\n  {% endif %}\nend",
    "  {%+ if true %}\nyes\n{% endif %}", "{% if true +%}\nyes{% endif %}", "a  {%- if true %} b {% endif -%}  \n c",
    "  {{ 1 }}\n", "\t{% if true %}x{% endif %}", "a {% if true %}x{% endif %}", "a\n    {% if true %}x{%- endif %}",
    "{% for i in xs %}\n  {{ i }}\n{% endfor %}\n", "{% for i in xs -%}\n  {{ i }}\n{%- endfor %}",
    "{{- 'a' -}}\n\n{{ 'b' }}", "x\n  {{- 'a' }}", "{% raw %}{{ not parsed }}{% endraw %}",
    "a  {%- raw %} {{ x }} {% endraw -%}  b", "  {% raw %}\n x\n  {% endraw %}\ny", "{%- if true -%}  \n\n  a  \n\n{%- endif -%}",
    "line1\n{% set x = 1 %}\nline2", "{% set x = 1 %}  \nline", "  {% set x = 1 %}{{ x }}", "{{ 'a' }}\n{{ 'b' }}\n",
    "a\n{#- comment #}\nb", "a\n  {#+ comment #}\nb", "{% if true %}{% endif %}\n\n", "é  {% if true %}x{% endif %}",
    "a\u00a0{%- if true %}x{% endif %}", "{{ '{{' }}{{ '}}' }}{{ '{%' }}", "{{ {'a': {'b': 1}} }}",
]:
    case(t)

# --- Literals, printing as Python's str()
for t in [
    "{{ 'a\\'b' }}|{{ \"q\\\"q\" }}|{{ 'tab\\there' }}|{{ 'nl\\nx' }}|{{ '\\x41\\u00e9\\U0001F600' }}|{{ '\\q' }}",
    "{{ 'ab' 'cd' }}", "{{ 42 }} {{ -7 }} {{ 1_000 }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }}",
    "{{ 1.0 }} {{ 1.5e3 }} {{ 1e-5 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e15 }} {{ 123456789.123456789 }} {{ 0.0001 }} {{ -0.0 }}",
    "{{ 1/3 }} {{ 2/3 }} {{ 10/4 }} {{ 1e300*1e10 }} {{ 3.0 * 2 }}", "{{ true }} {{ True }} {{ false }} {{ none }} {{ None }}",
    "{{ [1, 'a', none, true, 2.5, [], {}] }}", "{{ (1,) }} {{ (1, 2) }} {{ () }}", "{{ {'a': 1, 2: 'b', 'c': [1]} }}",
    "{{ ['it\\'s', \"say \\\"hi\\\"\", 'both \\' \"', 'new\\nline', '\\x00\\x7f', 'é✓'] }}", "{{ undefined_name }}|",
    "{{ d }}", "{{ people[0] }}", "{{ 1, 2 }}", "{{ [1, 2,] }} {{ {'a': 1,} }}", "{{ 'é'|length }}",
    "{{ 9007199254740993 }} {{ 2**62 }}", "{{ 1e22 }} {{ 1.7976931348623157e308 }} {{ 5e-324 }}", "{{ 100.0 }} {{ 1234567890123456.0 }}",
]:
    case(t)

# --- Operators, Python semantics
for t in [
    "{{ 1 // 0.1 }} {{ -1 // 0.1 }} {{ 7.0 // -2 }} {{ 0.0 // 5 }} {{ -0.0 // 5 }} {{ 2 ** 62 }} {{ (-2) ** 63 }}",
    "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}",
    "{{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 0.5 }} {{ 2 ** 3 ** 2 }} {{ (-8) ** 2.0 }} {{ 0 ** 0 }}", "{{ 0 ** -1 }}", "{{ false ** -3.0 }}", "{{ 1 + 2 * 3 - 4 / 2 }}", "{{ (1 + 2) * 3 }}",
    "{{ 'a' + 'b' }} {{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] + [2] }} {{ [0] * 3 }}", "{{ 1 ~ 'a' ~ none ~ true ~ 2.0 }}",
    "{{ 1 ~ undefined_x ~ 2 }}", "{{ 1 + 'a' }}", "{{ 1 / 0 }}", "{{ 1 // 0 }}", "{{ 'a' - 'b' }}",
    "{{ true + 1 }} {{ true * 2.5 }}", "{{ -n }} {{ +n }} {{ - - n }} {{ -f }}", "{{ 1 == 1.0 }} {{ 1 == true }} {{ 'a' == 'a' }} {{ [1] == [1] }} {{ (1,) == [1] }}",
    "{{ 1 != 2 }} {{ none == none }} {{ none == 0 }} {{ {'a': 1} == {'a': 1} }}", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }}",
    "{{ 1 < 'a' }}", "{{ none < 1 }}", "{{ 'a' in 'cat' }} {{ 'z' not in 'cat' }} {{ 2 in xs }} {{ 'a' in d }} {{ 'zz' in d }}",
    "{{ 1 in 'abc' }}", "{{ 'x' in undefined_y }}", "{{ 1 in 5 }}", "{{ 1 and 2 }} {{ 0 and 2 }} {{ 0 or 'x' }} {{ '' or [] }} {{ none or none }}",
    "{{ not 1 }} {{ not '' }} {{ not [] }} {{ not xs }} {{ not undefined_z }}", "{{ 'yes' if t else 'no' }} {{ 'yes' if e else 'no' }}",
    "[{{ 'yes' if false }}]", "{{ 1 if false else 2 if false else 3 }}", "{{ not 1 == 2 }} {{ not 'a' in 'abc' }}",
    "{{ 'ab' < 'abc' }} {{ 'B' < 'a' }} {{ 'é' > 'z' }}", "{{ 1 + 2 ~ 3 }}", "{{ 10 - 2 - 3 }} {{ 2 * 3 % 4 }}",
    "{{ xs + e }} {{ (1, 2) + (3,) }}", "{{ '%s and %s' % ('a', 'b') }} {{ '%d%%' % 5 }} {{ '%s' % 'x' }}",
]:
    case(t)

# --- Subscripts, slicing, attributes
for t in [
    "{{ xs[0] }} {{ xs[-1] }} {{ xs[10] }}|{{ 'hello'[1] }} {{ 'hello'[-1] }}", "{{ xs[1:] }} {{ xs[:-1] }} {{ xs[::-1] }} {{ xs[::2] }} {{ xs[5:] }}",
    "{{ 'hello'[1:3] }} {{ 'hello'[::-1] }} {{ 'héllo'[1:] }} {{ 'hello'[-3:] }} {{ 'hello'[10:] }}", "{{ xs[-10:2] }} {{ xs[2:0:-1] }} {{ xs[:0:-1] }}",
    "{{ d['a'] }} {{ d.a }} {{ d['zz'] }}|{{ d.zz }}|", "{{ nested.a.b[1].c }} {{ nested['a']['b'][0] }}", "{{ xs.0 }} {{ people.1.name }}",
    "{{ d.items is callable }} {{ d['items'] is callable }}", "{{ undefined_a.b }}", "{{ undefined_a['b'] }}", "{{ d.zz.b }}", "{{ none.x }}|{{ n.x }}|{{ none[0] }}|",
    "{{ messages[0]['content'] }}", "{{ messages[-1].content }}", "{{ (xs|list)[0] }}", "{{ [1, 2, 3][1:][0] }}", "{{ 'abc'[1:2:0] }}",
    "{{ xs['a'] }}|", "{{ xs[1.0] }}|",
]:
    case(t)

# --- if / for / loop variables / scoping
for t in [
    "{% if n > 5 %}big{% elif n > 2 %}mid{% else %}small{% endif %}", "{% if e %}x{% elif 0 %}y{% endif %}|",
    "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
    "{% for x in xs %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}", "{% for x in xs %}{{ loop.cycle('a', 'b') }}{% endfor %}",
    "{% for p in people %}{% if loop.changed(p.age) %}[{{ p.age }}]{% endif %}{{ p.name }}{% endfor %}{% for x in [1, 1, 2] %}{{ loop.changed(x, 0) }}{% endfor %}",
    "{% for x in e %}x{% else %}empty{% endfor %}", "{% for x in xs if x > 1 %}{{ x }}{{ loop.index }}{{ loop.last }}{% endfor %}",
    "{% for x in xs if x > 5 %}{{ x }}{% else %}none{% endfor %}", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for k in d %}{{ k }}{% endfor %}", "{% for c in 'héy' %}[{{ c }}]{% endfor %}", "{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}",
    "{% for a, b in [(1, 2, 3)] %}{% endfor %}", "{% for x in n %}{% endfor %}", "{% for x in none %}{% endfor %}", "{% for x in undefined_q %}x{% else %}u{% endfor %}",
    "{% for x in xs %}{% if x == 1 %}{% break %}{% endif %}{{ x }}{% endfor %}", "{% for x in xs %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}",
    "{% for x in xs %}{% for y in xs %}{% if y == 1 %}{% break %}{% endif %}{{ x }}{{ y }},{% endfor %}{% endfor %}",
    "{% for x in xs %}{% for y in 'ab' %}{{ loop.index }}{{ y }}{% endfor %}{{ loop.index }};{% endfor %}",
    "{% for x in xs %}{% for y in 'ab' %}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}{{ loop.depth }}{% endfor %}",
    "{% set x = 1 %}{% for i in xs %}{% set x = i %}{{ x }}{% endfor %}{{ x }}", "{% if true %}{% set y = 5 %}{% endif %}{{ y }}",
    "{% for i in range(3) %}{% if i == 0 %}{% set z = 'a' %}{% endif %}[{{ z }}]{% endfor %}",
    "{% set ns = namespace(found=false, n=0) %}{% for x in xs %}{% if x == 1 %}{% set ns.found = true %}{% endif %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.found }} {{ ns.n }}",
    "{% set ns = namespace() %}{% set ns.a = [1] %}{{ ns.a }} {{ ns.b }}|", "{% set ns = namespace(d) %}{{ ns.a }}{{ ns.b }}",
    "{% set x = 1 %}{% set x.y = 2 %}", "{% set ns = namespace(_x=1) %}", "{% set ns = namespace() %}{% set ns._y = 1 %}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}", "{% set a, b = [3, 4] %}{{ b }}{{ a }}", "{% set a, b = 'xy' %}{{ a }}{{ b }}", "{% set a, b = [1] %}",
    "{% set t = (1, 2) %}{{ t }}", "{% set x %}block {{ n }}{% endset %}[{{ x }}]", "{% set x | upper %}shout{% endset %}{{ x }}",
    "{% set x -%}\n  trimmed\n{%- endset %}[{{ x }}]", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }}|",
    "{% for m in messages %}{{ m.role }}{% if not loop.last %},{% endif %}{% endfor %}",
    "{% for m in messages|reverse %}{{ m.role[0] }}{% endfor %}", "{% for m in messages[::-1] %}{{ loop.index0 }}{{ m.role[0] }}{% endfor %}",
    "{% for i in range(5) %}{{ i }}{% endfor %} {% for i in range(1, 4) %}{{ i }}{% endfor %} {% for i in range(10, 0, -3) %}{{ i }}{% endfor %}",
    "{{ range(3) |list }}", "{% for x in xs %}{{ x }}{% endfor %}{{ x }}|", "{% for x in xs %}{% set last = x %}{% endfor %}{{ last }}|",
    "{% set items = [] %}{% for x in xs %}{% set items = items + [x] %}{% endfor %}{{ items }}",
    "{% set ns = namespace(items=[]) %}{% for x in xs %}{% set ns.items = ns.items + [x * 2] %}{% endfor %}{{ ns.items }}",
    "{{ loop }}|", "{% for x in [[1, 2], [3]] %}{% for y in x %}{{ y }}{% endfor %};{% endfor %}",
    "{% for x in xs %}{% continue %}{% else %}else runs: no iteration reached the end{% endfor %}",
    "{% for x in xs %}{% if x == 1 %}{% break %}{% endif %}{% else %}else{% endfor %}|{% for x in xs %}{% break %}{% else %}else{% endfor %}",
    "{% for a in xs %}{% for b in e %}{% else %}{{ a }}{% if a == 1 %}{% break %}{% endif %}{% endfor %}{% endfor %}",
    "{% for x in xs %}{% set y %}[{{ x }}{% if x == 1 %}{% break %}{% endif %}]{% endset %}{{ y }}{% endfor %}|{{ y }}",
    "{% for x in xs %}{% filter upper %}a{% continue %}{% endfilter %}{% endfor %}.",
    "{% for x in xs if loop is undefined %}{{ x }}{% endfor %} {% for a in [1] %}{% for x in xs if loop.index == 1 %}{{ x }}{% endfor %}{% endfor %}",
    "{% break %}", "{% for x in xs %}{% macro m() %}{% continue %}{% endmacro %}{% endfor %}", "{% for x in xs %}{% else %}{% break %}{% endfor %}",
    "{% for x in xs %}{% generation %}{% break %}{% endgeneration %}{% endfor %}",
    "{% for x in xs %}{% generation %}{% set g = x %}{{ g }}{% endgeneration %}[{{ g }}]{% endfor %}",
]:
    case(t)

# --- Jinja2's compile-time scoping: a name first assigned in a frame is that
# frame's own from its start (the context's value of it is hidden there)
for t in [
    "{{ n }}{% set n = 1 %}{{ n }}", "{% for a in xs %}[{{ n }}]{% endfor %}{% set n = 1 %}{{ n }}",
    "{% macro m() %}[{{ n }}]{% endmacro %}{{ m() }}{% set n = 1 %}{{ m() }}", "{% if true %}[{{ n }}]{% endif %}{% set n = 1 %}",
    "{% for a in xs %}{% for b in [1] %}[{{ n }}]{% endfor %}{% set n = a %}{% endfor %}",
    "{% for a in xs %}{% if a == 1 %}{% set n = a %}{% else %}{% set n = 0 %}{% endif %}{% for b in [1] %}[{{ n }}]{% endfor %}{% endfor %}",
    "{% for a in xs %}{% if false %}{% set n = 1 %}{% endif %}[{{ n }}]{% endfor %}", "{% set y %}[{{ n }}]{% set n = 2 %}[{{ n }}]{% endset %}{{ y }}{{ n }}",
    "{% with %}{% for b in [1] %}[{{ n }}]{% endfor %}{% set n = 3 %}{% endwith %}{{ n }}",
    "{% for a in xs %}{{ n }}{% set n = a %}{{ n }}{% endfor %}{{ n }}",
]:
    case(t)

# --- macros and call blocks
for t in [
    "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', 'Hi') }} {{ greet(name='Cy', greeting='Yo') }}",
    "{% macro m(a, b) %}[{{ a }}|{{ b }}]{% endmacro %}{{ m(1) }}", "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}",
    "{% macro m() %}{{ x }}{% endmacro %}{% set x = 'late' %}{{ m() }}", "{% macro m(x) %}{% set y = x %}{{ y }}{% endmacro %}{{ m(3) }}{{ y }}|",
    "{% macro r(n) %}{% if n > 0 %}{{ n }}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(3) }}",
    "{% macro t(v) %}{% if v is mapping %}{{ '{' }}{% for k, x in v.items() %}{{ k }}:{{ t(x) }}{% if not loop.last %},{% endif %}{% endfor %}{{ '}' }}{% elif v is iterable and v is not string %}[{% for x in v %}{{ t(x) }}{% endfor %}]{% else %}{{ v }}{% endif %}{% endmacro %}{{ t(nested) }}",
    "{% macro box() %}<{{ caller() }}>{% endmacro %}{% call box() %}inside {{ n }}{% endcall %}",
    "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(item) each([1, 2]) %}({{ item }}){% endcall %}",
    "{% macro m() -%}\n  body\n{%- endmacro %}[{{ m() }}]", "{% macro m(a=[1]) %}{{ a }}{% endmacro %}{{ m() }}{{ m(none) }}",
    "{% macro m(a, b=a) %}{{ b }}{% endmacro %}{{ m(5) }}",
    "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k='v', z=none) }}|{{ m(0) }}",
    "{% macro m() %}{% for x in varargs %}{{ x }}{% endfor %}{% endmacro %}{{ m(1, 2) }}", "{% macro m() %}{{ kwargs }}{% endmacro %}{{ m(1) }}",
    "{% macro m() %}{{ varargs }}{% endmacro %}{{ m(k=1) }}", "{% macro m() %}x{% endmacro %}{{ m is callable }}",
]:
    case(t)

# --- filters
for t in [
    "{{ s|trim }}|{{ 'xxhixx'|trim('x') }}|{{ none|trim }}|{{ 5|trim }}", "{{ xs|length }} {{ 'héllo'|length }} {{ d|length }} {{ e|count }} {{ undefined_l|length }}",
    "{{ 'abc'|list }} {{ d|list }} {{ xs|list }}", "{{ xs|first }} {{ xs|last }} {{ 'abc'|first }} {{ 'abc'|last }} [{{ e|first }}] {{ d|first }}",
    "{{ xs|join }} {{ xs|join(', ') }} {{ people|join(', ', attribute='name') }} {{ words|join(d='-') }}",
    "{{ people|map(attribute='name')|list }} {{ words|map('upper')|join }} {{ people|map(attribute='x', default='?')|list }}",
    "{{ people|map(attribute='x')|list }}", "{{ xs|map('string')|join('+') }} {{ ['1', '2.5', 'x']|map('int')|list }}",
    "{{ xs|select('odd')|list }} {{ xs|reject('odd')|list }} {{ xs|select('gt', 1)|list }} {{ [0, 1, '', 'a', none]|select|list }}",
    "{{ people|selectattr('age', 'equalto', 31)|map(attribute='name')|list }} {{ people|rejectattr('x', 'none')|map(attribute='name')|list }}",
    "{{ people|selectattr('x')|list }} {{ people|selectattr('x', 'defined')|map(attribute='name')|join }} {{ messages|selectattr('role', 'in', ['user', 'tool'])|list|length }}",
    "{{ d|tojson }} {{ xs|tojson }} {{ 'é\"\\n<>&'|tojson }} {{ none|tojson }} {{ 2.50|tojson }} {{ true|tojson }}",
    "{{ tools|tojson }}", "{{ tools[0]|tojson(indent=2) }}", "{{ d|tojson(indent=4, sort_keys=true) }}", "{{ d|tojson(separators=(',', ':')) }}",
    "{{ 'é😀'|tojson(ensure_ascii=true) }} {{ {'k': []}|tojson(indent=2) }} {{ [{}]|tojson(indent='\\t') }}", "{{ {1: 'a', none: 2}|tojson }}",
    "{{ undefined_j|tojson }}", "{{ (1, 2)|tojson }} {{ 1e16|tojson }} {{ '\\x01\\x1f'|tojson }}",
    "{{ 5|string }} {{ none|string }} {{ xs|string }} {{ '5'|int + 1 }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(9) }} {{ 3.9|int }} {{ ' 12 '|int }} {{ '0x1A'|int(0, 16) }}",
    "{{ '2.5'|float }} {{ 3|float }} {{ 'x'|float }} {{ 'x'|float(1.5) }} {{ '1e3'|float }}",
    "{{ 'HeLLo'|lower }} {{ 'héllo'|upper }} {{ 'hello wORLD-foo(bar'|title }} {{ 'hELLO world'|capitalize }}",
    "{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'a.b'|replace('.', '') }}",
    "{{ undefined_v|default('dflt') }} {{ none|default('dflt') }} {{ none|default('dflt', true) }} {{ ''|d('e', boolean=true) }} {{ 0|default(1) }}",
    "{{ d|items|list }} {% for k, v in d|items %}{{ k }}{% endfor %}", "{{ d|dictsort }} {{ d|dictsort(reverse=true) }} {{ {'b': 1, 'a': 2}|dictsort(by='value') }}",
    "{{ {'B': 1, 'a': 2}|dictsort }} {{ {'B': 1, 'a': 2}|dictsort(true) }}", "{{ xs|sort }} {{ xs|sort(reverse=true) }} {{ words|sort }} {{ words|sort(case_sensitive=true) }}",
    "{{ people|sort(attribute='age')|map(attribute='name')|join }} {{ people|sort(attribute='name')|map(attribute='name')|join }}",
    "{{ [3, 1, 3, 2, 1]|unique|list }} {{ ['a', 'A', 'b']|unique|list }} {{ people|unique(attribute='age')|map(attribute='name')|list }}",
    "{{ xs|reverse|list }} {{ 'abc'|reverse }}", "{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent('> ', blank=true) }}|",
    "{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 7|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }} {{ -1.5|round }}",
    "{{ -3|abs }} {{ -2.5|abs }} {{ xs|sum }} {{ people|sum(attribute='age') }} {{ [0.5, 0.25]|sum(start=1) }}",
    "{{ xs|min }} {{ xs|max }} {{ words|min }} {{ words|max }} {{ people|max(attribute='age') }} [{{ e|max }}]",
    "{{ '%s-%s'|format('a', 1) }} {{ '%d items'|format(3) }}", "{{ 'one two  three'|wordcount }} {{ 'hi'|center(6) }}|{{ 'hi'|center(7) }}|",
    "{{ xs|batch(2)|list }} {{ xs|batch(2, 0)|list }}", "{{ 'foo bar baz qux'|truncate(9) }} {{ 'foo bar baz qux'|truncate(9, true) }} {{ 'foo bar baz qux'|truncate(11) }} {{ 'foo bar baz qux'|truncate(11, false, '...', 0) }}",
    "{{ '<b>'|safe }}", "{{ xs|nonexistent_filter }}", "{{ s|trim|lower|replace('hello', 'bye')|title }}", "{{ (xs|sort)[0] }}",
    "{% filter upper %}shout {{ n }}{% endfilter %}", "{{ messages|selectattr('tool_calls', 'defined')|list|length }}", "{{ messages|map(attribute='role')|unique|list }}",
]:
    case(t)

# --- tests
for t in [
    "{{ n is defined }} {{ zz is defined }} {{ zz is undefined }} {{ d.zz is defined }} {{ d.c is none }} {{ d.c is not none }}",
    "{{ 'a' is string }} {{ 1 is string }} {{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ 'a' is number }}",
    "{{ 1 is integer }} {{ true is integer }} {{ 1.0 is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ 1 is boolean }} {{ true is true }} {{ 1 is true }} {{ false is false }}",
    "{{ d is mapping }} {{ xs is mapping }} {{ xs is iterable }} {{ 'a' is iterable }} {{ 1 is iterable }} {{ d is iterable }} {{ zz is iterable }}",
    "{{ xs is sequence }} {{ 'a' is sequence }} {{ 1 is sequence }} {{ d is sequence }} {{ range is callable }} {{ xs is callable }}",
    "{{ 1 is equalto 1 }} {{ 1 is eq 2 }} {{ 2 is ne 1 }} {{ 1 is lt 2 }} {{ 2 is le 2 }} {{ 3 is gt 2 }} {{ 3 is ge 4 }}",
    "{{ 2 is in xs }} {{ 'x' is in 'xyz' }} {{ none is sameas none }} {{ xs is sameas xs }} {{ 1 is odd }} {{ 2 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }}",
    "{{ 'abc' is lower }} {{ 'aBc' is lower }} {{ 'ABC' is upper }} {{ '1' is upper }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ 'nope' is test }}",
    "{{ n is not defined }} {{ not n is defined }} {{ xs is not string }}", "{{ 1 is nonexistent_test }}", "{{ 'x' is string and n is number }}",
    "{% if messages[0].role == 'system' and messages[0].content is string %}sys{% endif %}",
]:
    case(t)

# --- string, dict and list methods
for t in [
    "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\n\\nhi\\n'.rstrip('\\n') }}|{{ 'abcba'.lstrip('ab') }}",
    "{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a b c'.rsplit(' ', 1) }} {{ 'a'.split('x') }} {{ ''.split() }} {{ ''.split(',') }}",
    "{{ '<think>x</think>rest'.split('</think>')[-1] }} {{ '<think>x</think>rest'.split('</think>')[0].split('<think>')[-1] }}",
    "{{ 'abc'.startswith('ab') }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.endswith('bc') }} {{ 'abc'.endswith('x') }} {{ ''.startswith('') }}",
    "{{ 'aBc'.upper() }} {{ 'aBc'.lower() }} {{ 'hello world'.title() }} {{ \"they're bill's\".title() }} {{ 'hELLO'.capitalize() }}",
    "{{ 'aaa'.replace('a', 'bb') }} {{ 'aaa'.replace('a', '', 1) }} {{ 'ab'.replace('', '-') }}", "{{ 'héllo'.find('l') }} {{ 'hello'.find('z') }} {{ 'hello'.rfind('l') }} {{ 'hello'.count('l') }}",
    "{{ ', '.join(['a', 'b']) }} {{ ''.join(words) }} {{ '-'.join('abc') }}", "{{ ', '.join([1, 2]) }}", "{{ '{} and {}'.format('a', 'b') }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='N') }}",
    "{{ '123'.isdigit() }} {{ '12a'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'a1'.isalnum() }} {{ '  '.isspace() }} {{ 'ab'.islower() }} {{ 'AB'.isupper() }} {{ ''.isdigit() }}",
    "{{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'abc'.removeprefix('a') }} {{ 'abc'.removesuffix('c') }} {{ '5'.zfill(3) }} {{ 'ab'.ljust(4) }}|{{ 'ab'.rjust(4, '*') }}",
    "{{ d.items()|list }}", "{{ d.keys()|list }} {{ d.values()|list }} {{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }}",
    "{{ xs.index(1) }} {{ xs.count(3) }}", "{{ xs.append(4) }}", "{{ d.update({'z': 1}) }}", "{{ d.pop('a') }}", "{{ xs.pop() }}", "{{ xs.append }}|",
    "{{ 'abc'.nosuchmethod() }}", "{{ 'x'.upper is callable }}", "{% set c = d.copy() %}{{ c }}", "{{ messages[1].content.strip() }}|{{ messages[2]['content'].split('</think>')[-1].lstrip('\\n') }}",
    "{{ 'a b'.split(none) }} {{ 'a  b'.split(maxsplit=1) }}",
    "{{ n[1:] }}", "{{ d[1:] }}", "{{ (1)[::-1] }}|{{ {'k': 1}[:1] }}|", "{{ xs in d }}", "{{ false|map('upper')|list }} {{ 0|select|list }}",
    "{{ undefined_i|int }}", "{{ undefined_f|float }}", "{{ 5|indent }}", "{{ []|truncate(3) }} {{ 'ab' % {'k': 1} }} {{ 'é' % [] }}",
    "{{ undefined_c is callable }} {{ (xs[0])[5] is callable }}",
]:
    case(t)

# --- globals
for t in [
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}",
    "{% if messages[0].role != 'user' %}{{ raise_exception('first message must be user, got ' + messages[0].role) }}{% endif %}",
    "{{ dict(a=1, b='x') }} {{ dict([('k', 'v')]) }} {{ dict(d, z=0) }}", "{{ namespace(a=1).a }}", "{{ range(0)|list }}{{ range(2, 5)|list }}",
    "{{ range(200000)|length }}", "{% set j = joiner(', ') %}{% for x in xs %}{{ j() }}{{ x }}{% endfor %}", "{{ strftime_now('') }}",
    "{{ undefined_fn() }}", "{{ n() }}", "{{ bos_token }}{{ eos_token }}",
]:
    case(t)

# --- generation blocks
for t in [
    "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{{ eos_token }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}",
    "é😀{% generation %}ü✓{% endgeneration %}x{% generation %}{% endgeneration %}", "{% set x %}{% generation %}in set{% endgeneration %}{% endset %}ab{{ x }}",
    "{%- generation -%}\n  trimmed  \n{%- endgeneration -%}",
]:
    case(t)

# --- syntax errors
for t in [
    "{% if true %}unclosed", "{% for x in xs %}{% endif %}", "{{ 1 + }}", "{% endfor %}", "{% unknown %}", "{{ 'unterminated }}",
    "{# unclosed comment", "{{ (1, 2 }}", "{% include 'x.jinja' %}", "{% macro %}{% endmacro %}", "{{ x.1a }}", "{{ ] }}",
]:
    case(t)

# --- real-template idioms
for t in [
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- for tool in tools %}\n        {{- \"\\n\" }}\n        {{- tool | tojson }}\n    {%- endfor %}\n{%- endif %}\n{%- for message in messages %}\n    {%- if message.role == \"user\" %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n    {%- elif message.role == \"assistant\" %}\n        {%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}\n        {{- '<|im_start|>assistant\\n' + content }}\n        {%- for tool_call in message.tool_calls %}\n            {%- if tool_call.function %}{%- set tool_call = tool_call.function %}{%- endif %}\n            {{- '\\n<tool_call>\\n{\"name\": \"' }}{{- tool_call.name }}{{- '\", \"arguments\": ' }}{{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}\n        {%- endfor %}\n        {{- '<|im_end|>\\n' }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n",
    "{{- bos_token }}\n{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content']|trim %}\n    {%- set messages = messages[1:] %}\n{%- else %}\n    {%- set system_message = \"\" %}\n{%- endif %}\n{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n{{- system_message }}\n{{- \"<|eot_id|>\" }}\n{%- for message in messages %}\n    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n",
    "{% set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}{% for message in messages[::-1] %}{% set index = (messages|length - 1) - loop.index0 %}{% if ns.multi_step_tool and message.role == \"user\" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}{% set ns.multi_step_tool = false %}{% set ns.last_query_index = index %}{% endif %}{% endfor %}{{ ns.last_query_index }}",
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% endfor %}",
    "{%- set loop_messages = messages %}{%- for message in loop_messages %}{%- set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{%- if loop.index0 == 0 %}{%- set content = bos_token + content %}{%- endif %}{{- content }}{%- endfor %}",
    "{%- if messages[0].content is string %}s{% elif messages[0].content is iterable %}{% for part in messages[0].content %}{{ part.text }}{% endfor %}{% endif %}",
]:
    case(t)
case("{% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}{% for p in m.content %}{% if p.type == 'text' %}{{ p.text }}{% endif %}{% endfor %}{% endif %};{% endfor %}",
     messages=[{"role": "user", "content": [{"type": "text", "text": "part1"}, {"type": "image"}, {"type": "text", "text": "part2"}]},
               {"role": "assistant", "content": "plain"}])
case("{{ messages[0].content|tojson }} {{ x|tojson }} {{ y }}", messages=[{"role": "user", "content": "q"}], x={"b": 1, "a": [1.0, 2.5, -0.0, 1e-7]}, y=0.1)
case("{% if add_generation_prompt %}gen{% endif %}|{{ add_generation_prompt }}", add_generation_prompt=False)
case("{{ date_string|default('26 Jul 2024') }}")
case("{{ messages|length }} {{ messages[0]['role'] }}", messages=[{"role": "user", "content": "x", "extra": {"k": [1, 2]}}])


def render(template, context):
    compiled = _compile_jinja_template(template)
    blocks, indices = [], []
    with compiled.environment.activate_tracker(blocks, indices):
        for block in compiled.generate(**context):
            blocks.append(block)
    text = "".join(blocks)
    spans = [[len(text[:b].encode()), len(text[:e].encode())] for b, e in indices]
    return text, spans


def main():
    lines = []
    for template, context in CASES:
        line = {"template": template, "context": context}
        try:
            text, spans = render(template, context)
            line["text"] = text
            if re.search(r"{%[-+]?\s*generation", template):
                line["generation_spans"] = spans
        except Exception as e:  # the C++ side must fail too
            line["error"] = f"{type(e).__name__}: {e}"
        lines.append(line)
    with open(OUT, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"{len(lines)} snippets, {sum('error' in l for l in lines)} errors -> {OUT}")


if __name__ == "__main__":
    main()
