"""Setup the tests repeat thousands of times, made cheap without changing what they test.

Each test builds its own app (`create_app`), and each app compiles again what every other app
compiled (measured with cProfile on tests/test_visits.py and on `create_app`):

- Werkzeug compiles two URL-builder functions for every route of every app (an AST, then
  `compile`): about 85% of `create_app`. The builder's code depends only on the rule, its
  defaults and converters, so the tests compile each distinct one once per process and bind it
  to each new rule, as werkzeug binds the one it compiles.
- Jinja compiles every template an app renders, once per app: about a fifth of a typical
  test's time. The tests give every app's environment one bytecode cache per process (Jinja's
  own mechanism; an entry is used only while the template's source is unchanged).

The app itself is unchanged: production builds its one app, and caches its templates, as before.
"""

import flask
from jinja2 import BytecodeCache
from werkzeug.routing.rules import Rule

# Restart every id sequence (an empty table's too: a failed insert takes an id), without
# ALTER SEQUENCE's new file per sequence.
RESTART_SEQUENCES = """
SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)
FROM pg_sequences
"""

_compile_builder = Rule._compile_builder
_builders: dict[tuple, object] = {}


def _cached_compile_builder(self: Rule, append_unknown: bool = True):
    defaults = self.defaults or {}
    if any(name in defaults for name in self._converters):
        # A default inside the rule is baked in through its converter: compile as werkzeug does.
        return _compile_builder(self, append_unknown)
    # Everything else the builder's code is made from (see Rule._compile_builder).
    key = (self.rule, tuple(self._trace), tuple(map(str, defaults)), append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile_builder(self, append_unknown)
    return builder


class _ProcessBytecodeCache(BytecodeCache):
    """Compiled templates in memory, shared by every app of the process."""

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_templates = _ProcessBytecodeCache()
_create_jinja_environment = flask.Flask.create_jinja_environment


def _jinja_environment_with_shared_cache(self):
    environment = _create_jinja_environment(self)
    environment.bytecode_cache = _templates
    return environment


def reuse_compiled_code() -> None:
    """Compile each distinct URL builder and each template once per test process."""
    Rule._compile_builder = _cached_compile_builder
    flask.Flask.create_jinja_environment = _jinja_environment_with_shared_cache
