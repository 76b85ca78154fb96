"""The planning layer: the steps that turn one delivery into a Plan, and nothing that does I/O.

Owns the Draft (`draft`: the incident as the plan would leave it, changed through its
methods), the driver (`planner`: STEPS in order, then `finish`), the steps themselves
(`builtin`: exclusive scopes, native severity, bookkeeping; `commands`: `@bot ...`
comments; `engine`: the process rules) and the render context of templates (`render`).
Start reading at `planner.plan_event`.
"""
