"""The changes package: deployment and feature-flag hooks, and the choice of suspects."""
