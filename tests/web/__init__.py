"""The edge's app: who may read its pages, what its unauthenticated answers say, its query strings."""
