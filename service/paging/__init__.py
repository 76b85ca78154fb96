"""Paging's parts outside planning: its settings, the signed acknowledgement links, the page-sending job, the
deliveries the bot queues for its own pages (a step due, a link acknowledgement) and the `/ack/<token>` pages.

The pages themselves are planned in `service.handlers.paging`; the worker's side (scheduling steps, queueing
sends) is `service.worker.paging`. This package imports only the top layer, `rules` and `notify`.
"""
