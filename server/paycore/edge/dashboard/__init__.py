"""The merchant dashboard on the REST edge (issue 21): /dashboard, server-rendered HTML.

sessions.py     sign-in sessions: the key stays in the edge, the browser holds a cookie
listings.py     the list pages, one entry each, and the gRPC clients they call
chart.py        the balance chart, inline SVG drawn server-side
views.py        the pages
"""

from paycore.edge.dashboard.views import Dashboard

__all__ = ["Dashboard"]
