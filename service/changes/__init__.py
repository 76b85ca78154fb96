"""Changes that may cause incidents: GitLab's deployment and feature-flag hooks as typed records (`hooks`),
and the pure choice of an incident's suspects among the indexed changes (`suspects`).

The edge accepts the two hooks (verified and queued like every delivery), the worker records them in the
index (`store.changes`), and nothing is posted to GitLab for them.
"""
