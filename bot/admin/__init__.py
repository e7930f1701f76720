"""The admin and staff console at /admin: server-rendered pages and a JSON API in the web app.

`site.mount` builds the routes (one table with the role each needs); `http.py` is the edge
(session, CSRF, roles, refusals to statuses); `pages.py` and `api.py` decode, call one resource
of `console.Console` (users, answers, facts, versions, inbox, leads, campaigns, handoffs, stats,
audit) and present. The stores behind the resources are built once by the runtime (bot/app.py).
"""
