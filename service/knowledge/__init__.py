"""The knowledge base: the incident handbook generated from the rules, drills included.

Owns the handbook's content (`pages`: severities, roles, phases, communication, commands,
glossary; `areas`: one page per functional area; `drills`: the scenarios), its rendering to Markdown or HTML and the
stale-copy check (`handbook`), and `incident-bot handbook` (`cli`). It reads the rules and the
planning layer's command list and imports only downwards; the web app serves it through
`service/web/handbook.py`.
"""
