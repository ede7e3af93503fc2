"""PromQL as meshwatch reads, checks and composes it: through a real parser's syntax tree.

The parser is `promql-parser` (the Python binding of the Rust crate GreptimeDB uses): it
decides what is valid PromQL and gives the tree that selectors, ranges and calls are read
from. Its messages do not say where, so when it rejects a text, `diagnose` walks our own
small grammar of the subset users write (selectors, matchers, quoting, brackets) to say at
which column; the parser stays the judge of validity.

- `expr`: parse to the tree; read a counter selector, the functions called, whether an
  expression is one operand.
- `template`: `{{.window}}` templates (Sloth, OpenSLO, native `query`) as typed parts; a
  window is substituted into the parts, and a template is valid when every placeholder lands
  where PromQL takes a duration.
- `diagnose`: located messages for texts the parser rejected or that are not in the subset.
"""
